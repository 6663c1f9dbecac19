// golang/go#59293: affected/package: unsafe.SliceData incoherent resuilt
//   with nil argument
// Bad release: go1.20.2. Fixed release: go1.20.4. GOARCH: amd64.
// Class: compiler: ssagen/nilcheck (OSPTR of a slice assumed non-nil).
// On go1.20.2: FAIL: false true (unsafe.SliceData(nil slice) == nil
//   reported false), exit 1.
// On go1.20.4: prints ok.
// Needs a go.mod with "go 1.20" (the language/API version it uses).
// Program shape: comparing unsafe.SliceData(s) with nil for a nil slice.

package main

import (
	"fmt"
	"os"
	"unsafe"
)

//go:noinline
func isNil(s []int) bool {
	p := unsafe.SliceData(s)
	return p == nil
}

//go:noinline
func arrNil(s []int) bool {
	p := (*[0]int)(s)
	return p == nil
}

func main() {
	var s []int
	a, b := isNil(s), arrNil(s)
	if !a || !b {
		fmt.Println("FAIL:", a, b)
		os.Exit(1)
	}
	fmt.Println("ok")
}
