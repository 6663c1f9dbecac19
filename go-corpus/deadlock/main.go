// Every goroutine blocks: the runtime reports a deadlock.
package main

import "sync"

func main() {
	var mu sync.Mutex
	ch := make(chan int)
	mu.Lock()
	go func() {
		mu.Lock()
		ch <- 1
	}()
	<-ch
}
