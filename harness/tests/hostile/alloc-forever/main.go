// Allocates and keeps memory until something stops it.
package main

import "fmt"

func main() {
	var keep [][]byte
	for i := 0; ; i++ {
		b := make([]byte, 64<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		keep = append(keep, b)
		if i%1000 == 999 {
			fmt.Println(len(keep))
		}
	}
}
