// golang/go#69210 (probable): unique: fatal error: found pointer to free
//   object
// Bad release: go1.23.1. Fixed release: go1.23.2. GOARCH: amd64.
// Class: runtime: GC (weak->strong conversion not shaded during mark; used
//   by unique.Make).
// On go1.23.1: FAIL: corrupted unique handles: 74..98 (Handle.Value returns
//   wrong data / Make returns a different handle for a live value), exit 1.
// On go1.23.2: prints ok.
// Needs a go.mod with "go 1.23" (the language/API version it uses).
// Program shape: several goroutines interning values with unique.Make and
//   re-checking h.Value() while allocating, with GOGC=1.

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unique"
)

type big struct {
	s   string
	pad [8]uintptr
}

func main() {
	runtime.GOMAXPROCS(2)
	debug.SetGCPercent(1)
	var bad atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(8 * time.Second)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				k := strconv.Itoa((i*7 + w) % 512)
				h := unique.Make(big{s: k})
				runtime.Gosched()
				junk := make([]byte, 256)
				junk[0] = 1
				if v := h.Value(); v.s != k {
					bad.Add(1)
				}
				if h != unique.Make(big{s: k}) {
					bad.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	if bad.Load() > 0 {
		fmt.Println("FAIL: corrupted unique handles:", bad.Load())
		os.Exit(1)
	}
	fmt.Println("ok")
}
