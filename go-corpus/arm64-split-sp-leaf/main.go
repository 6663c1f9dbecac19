// The leaf-function variant of golang/go#73259, still present after its fix.
//
// The fix for #73259 (go1.23.12, go1.24.6, go1.25.0) pops a large frame with
// one ADD from a temporary register, but only in the epilogue of functions
// that call something. A leaf function (no calls besides morestack) with a
// frame too large for one ADD immediate still ends with
//
//	ADD $2384, RSP, RSP
//	ADD $(17<<12), RSP, RSP
//	RET
//
// (seen in go1.23.11, go1.23.12, go1.25.14 and go1.26.8 arm64 binaries with
// `go tool objdump`). A SIGURG preemption between the two ADDs leaves SP
// half-adjusted; the GC's scan of that stack then reads the return address
// from the wrong slot and the unwinder fails. Under qemu-user with one
// instruction per translation block, go1.25.14 crashes this program within
// seconds with "traceback did not unwind completely"; the same program with
// a frame small enough for one ADD ran clean.
//
// bigLeaf's frame is about 72 KiB; its hot path returns after a few
// instructions, so the window is a large share of what runs. No bounds check
// can fail (indices are masked below the array length), so nothing calls
// panicIndex and the function stays a leaf. NumCPU+1 goroutines call it in tight
// loops beside a runtime.GC() loop for a wall-clock budget (6 s, or the duration
// given as the first argument).
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

var cell int

//go:noinline
func bigLeaf(i int) int {
	if i >= 0 {
		return i & 7
	}
	var a [9000]*int
	for k := 0; k < 64; k++ {
		a[(k*577-i)&8191] = &cell
	}
	if q := a[(-i)&8191]; q != nil {
		return *q + 1
	}
	return 0
}

func main() {
	// One more busy loop than the machine has CPUs, plus the GC loop, so the
	// OS deschedules threads mid-function. The rate depends on it: measured
	// on 2 idle cores under single-step qemu, one loop beside the GC loop
	// crashed 2 of 10 runs (go1.23.11, #73259 entry) and 5 of 10 (go1.23.12,
	// leaf entry), the same pinned to one CPU 10 of 10.
	workers := runtime.NumCPU() + 1
	runtime.GOMAXPROCS(workers + 1)
	budget := 6 * time.Second
	if len(os.Args) > 1 {
		if d, err := time.ParseDuration(os.Args[1]); err == nil {
			budget = d
		}
	}
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.GC()
		}
	}()
	deadline := time.Now().Add(budget)
	sums := make(chan int)
	for w := 0; w < workers; w++ {
		go func() {
			s := 0
			for i := 0; ; i++ {
				s += bigLeaf(i)
				if i&1023 == 0 && time.Now().After(deadline) {
					break
				}
			}
			sums <- s
		}()
	}
	sum := 0
	for w := 0; w < workers; w++ {
		sum += <-sums
	}
	close(stop)
	<-gcDone
	fmt.Println("survived", sum > 0)
}
