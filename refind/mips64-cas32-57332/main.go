// golang/go#57332: cmd/compile: the mips64 intrinsic for
//   CompareAndSwapUint32 function needs to sign extend its "old" argument
// Bad release: go1.19.4. Fixed release: go1.19.5. GOARCH: mips64le.
// Class: compiler: mips64 lowering of AtomicCompareAndSwap32 (old not sign-
//   extended).
// On go1.19.4: FAIL: CompareAndSwapUint32 returned false, x = 0x80000000,
//   exit 1.
// On go1.19.5: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: atomic.CompareAndSwapUint32 with an old value that has bit
//   31 set.

package main

import (
	"fmt"
	"os"
	"sync/atomic"
)

//go:noinline
func cas(p *uint32, old, new uint32) bool {
	return atomic.CompareAndSwapUint32(p, old, new)
}

func main() {
	x := uint32(0x80000000)
	// The loaded word is sign-extended to 64 bits by the LR/LL
	// instruction; the bad compiler compares it with a zero-extended old.
	ok := cas(&x, 0x80000000, 1)
	if !ok || x != 1 {
		fmt.Printf("FAIL: CompareAndSwapUint32 returned %v, x = %#x\n", ok, x)
		os.Exit(1)
	}
	fmt.Println("ok")
}
