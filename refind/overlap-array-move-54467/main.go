// golang/go#54467: cmd/compile: miscompilation of partially-overlapping
//   array assignments (backport #54629)
// Bad release: go1.19. Fixed release: go1.19.1. GOARCH: amd64.
// Class: compiler: SSA Move lowering of array assignment (overlap not
//   handled).
// On go1.19: prints x[20]/x[21] mismatches and FAIL, exit 1.
// On go1.19.1: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: array assignment *p = *q through two pointers into the
//   same array whose ranges partially overlap.

package main

import (
	"fmt"
	"os"
	"unsafe"
)

func main() {
	var x [64]byte
	for i := range x {
		x[i] = byte(i)
	}
	y := x

	copy(x[4:36], x[2:34])
	// Same overlapping move written as an array assignment through pointers.
	*(*[32]byte)(unsafe.Pointer(&y[4])) = *(*[32]byte)(unsafe.Pointer(&y[2]))

	bad := 0
	for i := range x {
		if x[i] != y[i] {
			fmt.Printf("x[%v] = %v; y[%v] = %v\n", i, x[i], i, y[i])
			bad++
		}
	}
	if bad != 0 {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}
