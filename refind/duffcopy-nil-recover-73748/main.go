// golang/go#73748: cmd/compile: nil check dropped before DUFFCOPY/DUFFZERO
//   (faultOnNilArg) breaks recovery + frame-pointer unwinding (title not
//   retrieved)
// Bad release: go1.24.4. Fixed release: go1.24.5. GOARCH: amd64.
// Class: compiler: nilcheck elimination (faultOnNilArg on DUFFCOPY) ->
//   runtime: panic/recover + frame-pointer unwinding.
// On go1.24.4: fatal error: unexpected signal during runtime execution
//   (SIGSEGV in the trace stack unwinder after recover), exit 2.
// On go1.24.5: prints 'recovered: runtime error: invalid memory address or
//   nil pointer dereference'.
// Verified with a go.mod saying "go 1.14".
// Program shape: copy of a 128-byte struct through a nil pointer inside a
//   function, recovered by a deferred closure that then records a
//   runtime/trace event.

package main

import (
	"context"
	"fmt"
	"io/ioutil"
	"runtime/trace"
)

type T struct {
	a [16]int
}

// The copy of a 128-byte struct is done by runtime.duffcopy; the bad
// compiler drops the explicit nil check and lets duffcopy fault.
//
//go:noinline
func f(x, y *T) {
	*x = *y
}

func main() {
	trace.Start(ioutil.Discard)
	defer func() {
		r := recover()
		// Recording a trace event unwinds the stack with frame pointers.
		trace.Log(context.Background(), "a", "b")
		trace.Stop()
		fmt.Println("recovered:", r)
	}()
	f(nil, nil)
}
