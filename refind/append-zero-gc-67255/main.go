// golang/go#67255: cmd/compile: append(s, make([]T, 0)...) forms a past-
//   the-end pointer (title not retrieved)
// Bad release: go1.22.3. Fixed release: go1.22.4. GOARCH: amd64.
// Class: compiler: walk (extendslice) -> runtime: write barrier / GC sees a
//   pointer past the object.
// On go1.22.3: panic: runtime error: invalid memory address or nil pointer
//   dereference (SIGSEGV) in main, exit 2.
// On go1.22.4: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: s = append(s, make([]*T, n)...) with n == 0 on full-
//   capacity pointer slices while the write barrier is on.

package main

import "fmt"

var zero int

var sink interface{}

func main() {
	var objs [][]*byte
	for i := 10; i < 200; i++ {
		// Pointer-ful objects, allocated small to large, so the one that
		// maxes out its size class is the last in that class and the next
		// slot in the span is unallocated.
		objs = append(objs, make([]*byte, i))
	}
	sink = objs // force heap allocation

	// The bug fires as soon as the write barrier is on: appending zero
	// elements clears from &s[len(s)], a past-the-end pointer.
	for j := 0; j < 10000; j++ {
		sink = make([]*byte, 1024)
		for _, s := range objs {
			s = append(s, make([]*byte, zero)...)
		}
	}
	fmt.Println("ok")
}
