// The published reproducer shape for golang/go#73259: a non-inlined function
// with a 64 KiB buffer filled and xor-ed by loops, called in a loop beside a
// runtime.GC() loop. Runs until it crashes or is killed.
package main

import "runtime"

//go:noinline
func fill(seed byte) byte {
	var buf [64 << 10]byte
	for i := range buf {
		buf[i] = seed + byte(i)
	}
	var x byte
	for i := range buf {
		x ^= buf[i]
	}
	return x
}

func main() {
	runtime.GOMAXPROCS(2)
	go func() {
		for {
			runtime.GC()
		}
	}()
	var x byte
	for i := 0; ; i++ {
		x ^= fill(byte(i))
	}
}
