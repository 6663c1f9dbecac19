// Spawns thousands of goroutines, each locking an OS thread and blocking.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	block := make(chan struct{})
	for i := 0; i < 20000; i++ {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			wg.Done()
			<-block
		}()
	}
	wg.Wait()
	fmt.Println("all started")
	close(block)
}
