// golang/go#53600: cmd/compile: loop with i <= math.MaxInt64 miscompiled
//   (title not retrieved)
// Bad release: go1.18.2. Fixed release: go1.18.4. GOARCH: amd64.
// Class: compiler: loopbce / prove (induction variable assumed not to
//   overflow at <= MaxInt64).
// On go1.18.2: FAIL: i never became negative; iterations: 11, exit 1.
// On go1.18.4: prints ok 2.
// Verified with a go.mod saying "go 1.14".
// Program shape: counting loop for i := C; i <= math.MaxInt64; i++ whose
//   body tests i < 0 (wraparound).

package main

import (
	"fmt"
	"math"
	"os"
)

var n int

// The loop bound check i <= MaxInt64 is always true, so i must wrap to a
// negative value; the bad compiler's loopbce assumes i never exceeds the
// bound and folds the i < 0 test to false, so the loop never exits.
func f() bool {
	for i := int64(math.MaxInt64) - 1; i <= math.MaxInt64; i++ {
		if i < 0 {
			return true
		}
		n++
		if n > 10 {
			return false
		}
	}
	return false
}

func main() {
	if !f() {
		fmt.Println("FAIL: i never became negative; iterations:", n)
		os.Exit(1)
	}
	fmt.Println("ok", n)
}
