package main

// uint32(uint16(x>>8)) << 8 must clear the top byte of x. On ppc64 and
// ppc64le the truncation to 16 bits is lost: the result keeps bits 24-31.

import "os"

//go:noinline
func f(x uint32) uint32 {
	return uint32(uint16(x>>8)) << 8
}

func main() {
	got, want := f(0xF80E1095), uint32(0x000E1000)
	if got != want {
		println("FAIL: f(0xF80E1095) =", got, "want", want)
		os.Exit(1)
	}
	println("ok")
}
