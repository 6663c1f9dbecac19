// golang/go#62203: maps: segfault in Clone
// Bad release: go1.21.0. Fixed release: go1.21.1. GOARCH: amd64.
// Class: runtime: map (maps.Clone of a map in the middle of growing).
// On go1.21.0: unexpected fault address 0x0, fatal error: fault (SIGSEGV in
//   runtime.mapclone2), exit 2.
// On go1.21.1: prints ok.
// Needs a go.mod with "go 1.21" (the language/API version it uses).
// Program shape: map filled to a bucket-count boundary, one insert (starts
//   growth) and one delete, then maps.Clone.

package main

import (
	"fmt"
	"maps"
)

func main() {
	m := map[string]struct{}{}

	// Fill m up to the max for 4 buckets = 48 entries.
	for i := 0; i < 48; i++ {
		m[fmt.Sprintf("%d", i)] = struct{}{}
	}

	// Add a 49th entry, to start a grow to 8 buckets.
	m["foo"] = struct{}{}

	// Remove that 49th entry. m is still growing to 8 buckets,
	// but a clone of m only needs 4 buckets for 48 entries.
	delete(m, "foo")

	// Clone an 8-bucket (growing) map to a 4-bucket map.
	c := maps.Clone(m)
	if len(c) != 48 {
		fmt.Println("FAIL: len", len(c))
		return
	}
	for k := range m {
		if _, ok := c[k]; !ok {
			panic("FAIL: missing key " + k)
		}
	}
	fmt.Println("ok")
}
