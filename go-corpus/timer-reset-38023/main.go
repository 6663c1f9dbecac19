// golang/go#38023 (and #38070): in go1.14.1, time.Timer.Reset could be
// preempted inside modtimer while the timer was in the "modifying" state; the
// scheduler then tried to run that same timer and spun in osyield forever,
// wedging the program while the GC waited to stop the world. Fixed in go1.14.2.
//
// Shape: GOMAXPROCS(2), a runtime.GC() loop, goroutines resetting
// microsecond timers. On a healthy toolchain it finishes in about a second.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func main() {
	runtime.GOMAXPROCS(2)
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
	const workers = 16
	const resets = 1000000
	var wg sync.WaitGroup
	counts := make([]int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			t := time.NewTimer(time.Microsecond)
			for i := 0; i < resets; i++ {
				t.Reset(time.Duration(1+i%7) * time.Microsecond)
				if i%64 == 0 {
					runtime.Gosched()
				}
				counts[w]++
			}
			t.Stop()
		}(w)
	}
	wg.Wait()
	close(stop)
	<-gcDone
	total := 0
	for _, c := range counts {
		total += c
	}
	fmt.Printf("checksum: %016x\n", uint64(total))
}
