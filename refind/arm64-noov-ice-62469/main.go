// golang/go#62469: cmd/compile: ICE 'InvertFlags should never make it to
//   codegen' on arm64 (title not retrieved)
// Bad release: go1.21.1. Fixed release: go1.21.2. GOARCH: arm64.
// Class: compiler: arm64 rewrite rules (LessThanNoov/GreaterEqualNoov of
//   InvertFlags missing).
// On go1.21.1: build fails: internal compiler error: 'sign': InvertFlags
//   should never make it to codegen.
// On go1.21.2: builds, prints false / true under qemu-aarch64.
// Verified with a go.mod saying "go 1.14".
// Program shape: signed compare of a difference of two products against 0:
//   (a-b)*(c-d)-(e-f)*(g-h) < 0.

package main

import "fmt"

type point struct{ x, y int64 }

//go:noinline
func sign(p1, p2, p3 point) bool {
	return (p1.x-p3.x)*(p2.y-p3.y)-(p2.x-p3.x)*(p1.y-p3.y) < 0
}

func main() {
	fmt.Println(sign(point{1, 2}, point{3, 4}, point{5, 7}))
	fmt.Println(sign(point{5, 2}, point{3, 4}, point{1, 7}))
}
