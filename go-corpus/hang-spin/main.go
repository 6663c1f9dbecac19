// Never ends: a goroutine spins forever while main waits for it.
package main

import "fmt"

//go:noinline
func spin(n *uint64) {
	for {
		*n++
	}
}

func main() {
	var n uint64
	done := make(chan bool)
	go func() {
		spin(&n)
		done <- true
	}()
	<-done
	fmt.Println(n)
}
