// Prints to stdout and stderr as fast as it can, forever.
package main

import (
	"os"
	"strings"
)

func main() {
	line := []byte(strings.Repeat("divergo hostile output ", 40) + "\n")
	go func() {
		for {
			os.Stderr.Write(line)
		}
	}()
	for {
		os.Stdout.Write(line)
	}
}
