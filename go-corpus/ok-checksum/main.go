// A healthy program: bounded work, a GC in the middle, a deterministic checksum.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func work(seed uint64) uint64 {
	x := seed
	for i := 0; i < 20000; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func main() {
	results := make([]uint64, 8)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			results[g] = work(uint64(g + 1))
		}(g)
	}
	runtime.GC()
	wg.Wait()
	var sum uint64
	for i, r := range results {
		sum = sum*31 + r + uint64(i)
	}
	fmt.Printf("checksum: %016x\n", sum)
}
