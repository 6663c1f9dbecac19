// golang/go#61297: ppc64le: sign extension issue in go 1.21rc2
// Bad release: go1.19.11. Fixed release: go1.19.12. GOARCH: ppc64le.
// Class: compiler: ppc64 rewrite rules ((ANDconst [0xFF] (MOVBreg x)) =>
//   MOVBreg x).
// On go1.19.11: f8(-1) = 0xffffffffffffffff, want 0xff (and f16), FAIL,
//   exit 1.
// On go1.19.12: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: int64(int8 value) & 0xFF (sign extension followed by a
//   mask of the same width).

package main

import (
	"fmt"
	"os"
)

//go:noinline
func f8(x int8) uint64 {
	// sign-extend, then keep the low byte: must be 0..255
	return uint64(int64(x) & 0xFF)
}

//go:noinline
func f16(x int16) uint64 {
	return uint64(int64(x) & 0xFFFF)
}

func main() {
	bad := false
	if got := f8(-1); got != 0xFF {
		fmt.Printf("f8(-1) = %#x, want 0xff\n", got)
		bad = true
	}
	if got := f16(-2); got != 0xFFFE {
		fmt.Printf("f16(-2) = %#x, want 0xfffe\n", got)
		bad = true
	}
	if bad {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}
