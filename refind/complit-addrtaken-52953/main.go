// golang/go#52953: cmd/compile: miscompilation in pointer operations
// Bad release: go1.18.4. Fixed release: go1.18.6. GOARCH: amd64.
// Class: compiler: front end (walk/complit.go: x = T{...} split into field
//   stores though x is address-taken).
// On go1.18.4: FAIL: got {a:1 b:1 c:1}, want {a:1 b:5 c:0}, exit 1.
// On go1.18.6: prints ok {1 5 0}.
// Verified with a go.mod saying "go 1.14".
// Program shape: struct literal assigned to a local x whose fields are read
//   in the literal through a pointer p := &x.

package main

import (
	"fmt"
	"os"
)

type T struct {
	a, b, c int
}

//go:noinline
func f(v int) T {
	var x T
	x.a = v
	p := &x
	// The RHS reads x through p. The bad compiler expands this into
	// x.a = 1; x.b = p.a; x.c = p.b, so later fields see the new values.
	x = T{a: 1, b: p.a, c: p.b}
	return x
}

func main() {
	got := f(5)
	want := T{a: 1, b: 5, c: 0}
	if got != want {
		fmt.Printf("FAIL: got %+v, want %+v\n", got, want)
		os.Exit(1)
	}
	fmt.Println("ok", got)
}
