// Panics with an index out of range in a non-inlined function.
package main

import (
	"fmt"
	"os"
)

//go:noinline
func at(s []int, i int) int {
	return s[i]
}

func main() {
	s := make([]int, 3)
	fmt.Println(at(s, len(os.Args)+4))
}
