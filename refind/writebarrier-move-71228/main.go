// golang/go#71228: cmd/compile: broken write barrier
// Bad release: go1.23.5. Fixed release: go1.23.6. GOARCH: amd64.
// Class: compiler: writebarrier pass (non-pointer store ordered after a
//   wbMove that reads it) -> GC corruption.
// On go1.23.5: fatal: 'runtime: marked free object in span ...' (GC finds a
//   freed object that is still reachable), exit 2.
// On go1.23.6: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: struct copy *dst = *sp where sp points at a local whose
//   pointer field was just stored, after another pointer store, in a
//   goroutine-heavy allocation loop with frequent GC.

package main

import (
	"fmt"
	"math/rand"
	"runtime"
	"runtime/debug"
)

type S struct {
	a, b string
	ptr  *T
}

type T struct {
	x [64]*byte
}

// f is a roundabout dst.ptr = ptr; the bad compiler emits it without a write barrier.
//
//go:noinline
func f(dst *S, ptr *T) {
	_ = *dst // early nil check

	var s S
	sp := &s
	g = nil      // simple write barrier
	sp.ptr = ptr // put target pointer in s
	*dst = *sp   // move write barrier
}

var g *byte

const W = 4

const N = 100000

// Keep all the S's in the heap reachable.
var workbufs [W][N]*S

func worker(w int, done chan bool) {
	r := rand.New(rand.NewSource(int64(w)))
	workbuf := &workbufs[w]
	for i := 0; i < N; i++ {
		workbuf[i] = new(S)
	}
	const A = 100
	var allocbuf [A]*T
	for i := 0; i < 3000000; i++ {
		s := workbuf[r.Intn(N)]
		j := r.Intn(A)
		ptr := allocbuf[j]
		allocbuf[j] = nil
		f(s, ptr)
		allocbuf[j] = new(T)
	}
	done <- true
}

func main() {
	runtime.GOMAXPROCS(2)
	// Frequent GC cycles keep the write barrier on most of the time and
	// let a later cycle notice the object that was freed while reachable.
	debug.SetGCPercent(5)
	done := make(chan bool)
	for i := 0; i < W; i++ {
		go worker(i, done)
	}
	for i := 0; i < W; i++ {
		<-done
	}
	fmt.Println("ok")
}
