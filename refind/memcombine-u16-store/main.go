// golang/go (not identified): fix is the go1.21.6 change in
//   ssa/memcombine.go: store shifts compared with i*8 instead of i*size*8
// Bad release: go1.21.5. Fixed release: go1.21.6. GOARCH: amd64.
// Class: compiler: memcombine pass (store combining of 16-bit stores).
// On go1.21.5: le: got [0x7788 0x5566], FAIL, exit 1.
// On go1.21.6: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: adjacent uint16 stores of shifts of one value by multiples
//   of 8 (not 16): p[0]=uint16(x); p[1]=uint16(x>>8).

package main

import (
	"fmt"
	"os"
)

//go:noinline
func le(p *[2]uint16, x uint64) {
	p[0] = uint16(x)
	p[1] = uint16(x >> 8)
}

//go:noinline
func be(p *[2]uint16, x uint64) {
	p[0] = uint16(x >> 8)
	p[1] = uint16(x)
}

func main() {
	x := uint64(0x1122334455667788)
	var a, b [2]uint16
	le(&a, x)
	be(&b, x)
	bad := false
	if a != [2]uint16{0x7788, 0x6677} {
		fmt.Printf("le: got %#x\n", a)
		bad = true
	}
	if b != [2]uint16{0x6677, 0x7788} {
		fmt.Printf("be: got %#x\n", b)
		bad = true
	}
	if bad {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}
