// golang/go#73259: on arm64, a function whose frame is too large for one ADD
// immediate popped its frame with two ADD instructions. An asynchronous
// preemption (SIGURG) landing between them leaves SP half-adjusted; when the
// GC then scans that goroutine's stack the unwinder fails ("traceback did not
// unwind completely", or SIGSEGV in the unwinder). Fixed in go1.23.12,
// go1.24.6 and go1.25.0; amd64 is not affected.
//
// To make the window a large share of what runs, bigFrame's frame is over
// 64 KiB (and not a multiple of 4096) but its hot path is a few instructions:
// the big array lives in a branch that never runs, so it is never zeroed.
// NumCPU+1 goroutines call it in tight loops while another runs the GC.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

//go:noinline
func sink(b *[70000]byte, i int) int {
	b[i%len(b)]++
	return int(b[0])
}

//go:noinline
func bigFrame(i int) int {
	if i < 0 {
		var buf [70000]byte
		return sink(&buf, -i)
	}
	return i & 7
}

func main() {
	// One more busy loop than the machine has CPUs, plus the GC loop, so the
	// OS deschedules threads mid-function. The rate depends on it: measured
	// on 2 idle cores under single-step qemu, one loop beside the GC loop
	// crashed 2 of 10 runs (go1.23.11, #73259 entry) and 5 of 10 (go1.23.12,
	// leaf entry), the same pinned to one CPU 10 of 10.
	workers := runtime.NumCPU() + 1
	runtime.GOMAXPROCS(workers + 1)
	budget := 4 * time.Second
	if len(os.Args) > 1 {
		if d, err := time.ParseDuration(os.Args[1]); err == nil {
			budget = d
		}
	}
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.GC()
		}
	}()
	deadline := time.Now().Add(budget)
	sums := make(chan int)
	for w := 0; w < workers; w++ {
		go func() {
			s := 0
			for i := 0; ; i++ {
				s += bigFrame(i)
				if i&1023 == 0 && time.Now().After(deadline) {
					break
				}
			}
			sums <- s
		}()
	}
	sum := 0
	for w := 0; w < workers; w++ {
		sum += <-sums
	}
	close(stop)
	<-gcDone
	// The loop runs for a wall-clock budget, so the sum is not part of a checksum.
	fmt.Println("survived", sum > 0)
}
