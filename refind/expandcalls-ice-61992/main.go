// golang/go#61992: cmd/compile: internal compiler error: 'F': func F,
//   startMem[b1] has different values
// Bad release: go1.21.0. Fixed release: go1.21.1. GOARCH: amd64.
// Class: compiler: expand_calls (aggregate call args built in the wrong
//   block).
// On go1.21.0: build fails: internal compiler error: 'F': func F,
//   startMem[b1] has different values.
// On go1.21.1: builds, prints 8.
// Verified with a go.mod saying "go 1.14".
// Program shape: call through a func value with struct args built from
//   composite literals (one with a map literal) and a shift 1<<i argument.

package main

import "fmt"

type S1 struct {
	a, b, c []int
	i       int
}

type S2 struct {
	a, b []int
	m    map[int]int
}

func F(i int, f func(S1, S2, int) int) int {
	return f(
		S1{},
		S2{m: map[int]int{}},
		1<<i)
}

func main() {
	fmt.Println(F(3, func(a S1, b S2, n int) int { return len(b.m) + n }))
}
