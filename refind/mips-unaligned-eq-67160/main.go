// golang/go#67160: cmd/compile: generated equality uses wide loads on
//   unaligned fields on arches without unaligned loads (title not
//   retrieved)
// Bad release: go1.21.10. Fixed release: go1.21.11. GOARCH:
//   mipsle,mips64le.
// Class: compiler: front end (compare.go generated eq func uses memequal64
//   on align-1 data).
// On go1.21.10: SIGBUS: bus error in runtime.memequal64 called from
//   type:.eq.main.T, exit 2.
// On go1.21.11: prints 'true false'.
// Verified with a go.mod saying "go 1.14".
// Program shape: == on an array of odd-sized, byte-aligned structs with a
//   blank field (forces a generated eq function).

package main

import "fmt"

// T has a big field that wants to be compared with larger loads.
// The unnamed field forces a generated equality function.
// T is an odd number of bytes in size and has alignment 1.
type T struct {
	src [8]byte
	_   byte
}

// U contains 8 copies of T, each at a different %8 alignment.
type U [8]T

//go:noinline
func f(x, y *U) bool {
	return *x == *y
}

func main() {
	var a, b U
	b[3].src[5] = 1
	fmt.Println(f(&a, &a), f(&a, &b))
}
