// Ignores SIGQUIT, so no goroutine dump ever comes, and never ends.
package main

import (
	"os/signal"
	"syscall"
)

//go:noinline
func forever(n *int) {
	for {
		*n++
	}
}

func main() {
	signal.Ignore(syscall.SIGQUIT)
	var n int
	forever(&n)
}
