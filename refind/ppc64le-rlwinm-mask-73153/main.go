// golang/go#73153 (probable): cmd/compile: regression on ppc64le bit
//   operations
// Bad release: go1.24.4. Fixed release: go1.24.5. GOARCH: ppc64le.
// Class: compiler: ppc64 rewrite rules ((AND (MOVDconst m) (SLDconst x s))
//   -> RLWINM drops bits above 31).
// On go1.24.4: f: got 0xf0, want 0xf000000f0 / g: got 0xff00, want
//   0xff0000ff00, FAIL, exit 1.
// On go1.24.5: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: (x << s) & mask where the mask has bits both below and
//   above bit 31.

package main

import (
	"fmt"
	"os"
)

//go:noinline
func f(x uint64) uint64 {
	// The mask keeps bits 4-7 and 32-35 of x<<4.
	return (x << 4) & 0xF000000F0
}

//go:noinline
func g(x uint64) uint64 {
	return (x << 8) & 0xFF0000FF00
}

func main() {
	bad := false
	if got, want := f(0xFFFFFFFF), uint64(0xF000000F0); got != want {
		fmt.Printf("f: got %#x, want %#x\n", got, want)
		bad = true
	}
	if got, want := g(0xFFFFFFFF), uint64(0xFF0000FF00); got != want {
		fmt.Printf("g: got %#x, want %#x\n", got, want)
		bad = true
	}
	if bad {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}
