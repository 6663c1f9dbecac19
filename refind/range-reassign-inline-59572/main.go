// golang/go#59572: cmd/compile: incorrect inline function variable
// Bad release: go1.20.2. Fixed release: go1.20.4. GOARCH: amd64.
// Class: compiler: front end (ir.Reassigned ignores range key/value ->
//   inliner treats func variable as constant).
// On go1.20.2: FAIL: f() = 1 want 2, exit 1.
// On go1.20.4: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: func-typed local initialised with a closure and reassigned
//   only as the value variable of for _, f = range, then called.

package main

import (
	"fmt"
	"os"
)

func two() int { return 2 }

func main() {
	f := func() int { return 1 }
	// f's only reassignment is as the value of a range statement; the bad
	// compiler treats f as never reassigned and inlines the first closure
	// at the call below.
	for _, f = range []func() int{two} {
	}
	if got := f(); got != 2 {
		fmt.Println("FAIL: f() =", got, "want 2")
		os.Exit(1)
	}
	fmt.Println("ok")
}
