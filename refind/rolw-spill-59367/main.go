// golang/go#59367: cmd/compile: encoding/binary.PutUint16 sometimes doesn't
//   write
// Bad release: go1.20.2. Fixed release: go1.20.4. GOARCH: amd64.
// Class: compiler: amd64 rewrite rules (byte-swap store combining,
//   ROLW/BSWAP value spilled across a call).
// On go1.20.2: prints '2-byte/4-byte/8-byte value lost', FAIL, exit 1.
// On go1.20.4: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: big-endian byte stores of a zero-extended byte
//   (b[0]=byte(y>>8); b[1]=byte(y)) repeated after a call, so the combined
//   value is spilled/restored.

package main

import (
	"fmt"
	"os"
)

func main() {
	var b [8]byte
	one := uint8(1)
	bad := false
	f16(&one, b[:2])
	if b[1] != 1 {
		fmt.Println("2-byte value lost")
		bad = true
	}
	f32(&one, b[:4])
	if b[3] != 1 {
		fmt.Println("4-byte value lost")
		bad = true
	}
	f64(&one, b[:8])
	if b[7] != 1 {
		fmt.Println("8-byte value lost")
		bad = true
	}
	if bad {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}

//go:noinline
func f16(p *uint8, b []byte) {
	_ = b[1]
	x := *p
	y := uint16(x)
	b[0] = byte(y >> 8)
	b[1] = byte(y)
	nop()
	b[0] = byte(y >> 8)
	b[1] = byte(y)
}

//go:noinline
func f32(p *uint8, b []byte) {
	_ = b[3]
	x := *p
	y := uint32(x)
	b[0] = byte(y >> 24)
	b[1] = byte(y >> 16)
	b[2] = byte(y >> 8)
	b[3] = byte(y)
	nop()
	b[0] = byte(y >> 24)
	b[1] = byte(y >> 16)
	b[2] = byte(y >> 8)
	b[3] = byte(y)
}

//go:noinline
func f64(p *uint8, b []byte) {
	_ = b[7]
	x := *p
	y := uint64(x)
	b[0] = byte(y >> 56)
	b[1] = byte(y >> 48)
	b[2] = byte(y >> 40)
	b[3] = byte(y >> 32)
	b[4] = byte(y >> 24)
	b[5] = byte(y >> 16)
	b[6] = byte(y >> 8)
	b[7] = byte(y)
	nop()
	b[0] = byte(y >> 56)
	b[1] = byte(y >> 48)
	b[2] = byte(y >> 40)
	b[3] = byte(y >> 32)
	b[4] = byte(y >> 24)
	b[5] = byte(y >> 16)
	b[6] = byte(y >> 8)
	b[7] = byte(y)
}

//go:noinline
func nop() {
}
