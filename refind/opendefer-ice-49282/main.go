// golang/go#49282: cmd/compile: ICE 'OpStaticLECall and OpDereference have
//   mismatched mem' with open-coded defers (title not retrieved)
// Bad release: go1.17.4. Fixed release: go1.17.6. GOARCH: amd64.
// Class: compiler: ssagen (open-coded defers + by-value struct argument +
//   conditional in the entry block).
// On go1.17.4: build fails: internal compiler error: 'f': Op...LECall and
//   OpDereference have mismatched mem.
// On go1.17.6: builds, prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: function with a defer (open-coded) that first calls a
//   function taking a 5-int struct by value plus uint(floatVar).

package main

import "fmt"

//go:noinline
func g(d uintptr, a, m []int, s struct {
	a, b, c, d, e int
}, u uint) {
	_ = a
	_ = m
	_ = s
	func() {
		for i := 0; i < 5; i++ {
			_ = a
			_ = m
			_, _ = s, s
		}
	}()
}

var One float64 = 1.0

func f(d uintptr) {
	var a, m []int
	var s struct {
		a, b, c, d, e int
	}

	g(d, a, m, s, uint(One)) // uint of a non-constant float inserts a conditional

	defer func() uint {
		return 0
	}()
}

var d uintptr

func main() {
	f(d)
	fmt.Println("ok")
}
