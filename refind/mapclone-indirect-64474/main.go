// golang/go#64474: maps: maps.Clone reference semantics when cloning a map
//   with large value types
// Bad release: go1.21.5. Fixed release: go1.21.6. GOARCH: amd64.
// Class: runtime: map (maps.Clone shares indirectly stored >128-byte
//   values).
// On go1.21.5: FAIL: clone shares value storage with original; c[1].N = 2,
//   exit 1.
// On go1.21.6: prints ok.
// Needs a go.mod with "go 1.21" (the language/API version it uses).
// Program shape: maps.Clone of a map whose value type is larger than 128
//   bytes, then overwrite in the original.

package main

import (
	"fmt"
	"maps"
	"os"
)

// Value is larger than 128 bytes, so the map stores it indirectly
// (the bucket holds a pointer to a separately allocated value).
type Value struct {
	N   int
	Pad [200]byte
}

func main() {
	m := map[int]Value{1: {N: 1}}
	c := maps.Clone(m)

	// Overwrite the value in the original map in place.
	m[1] = Value{N: 2}

	if c[1].N != 1 {
		fmt.Println("FAIL: clone shares value storage with original; c[1].N =", c[1].N)
		os.Exit(1)
	}
	fmt.Println("ok")
}
