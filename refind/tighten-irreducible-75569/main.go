// golang/go#75569: cmd/compile: tighten moves values using loop info that
//   is wrong for irreducible loops (title not retrieved)
// Bad release: go1.24.7. Fixed release: go1.24.8. GOARCH: amd64.
// Class: compiler: tighten pass (irreducible loop built with goto).
// On go1.24.7: FAIL: x = <garbage> want 5, exit 1.
// On go1.24.8: prints ok.
// Verified with a go.mod saying "go 1.14".
// Program shape: goto-built irreducible loop (a side entry into an inner
//   loop) containing an inlined call that loads, conditionally stores, and
//   stores back through pointers.

package main

import (
	"fmt"
	"os"
)

// fff has an irreducible loop (innerSideEntry is entered both from the
// inner loop and from outside it). The bad compiler's tighten pass trusts
// the loop nest anyway and hoists part of ggg's inlined body out of order.
func fff(a []int, b bool, p, q *int) {
outer:
	n := a[0]
	a = a[1:]
	switch n {
	case 1:
		goto one
	case 2:
		goto two
	case 3:
		goto three
	case 4:
		goto four
	}

one:
	goto inner
two:
	goto outer
three:
	goto inner
four:
	goto innerSideEntry

inner:
	n = a[0]
	a = a[1:]
	switch n {
	case 1:
		goto outer
	case 2:
		goto inner
	case 3:
		goto innerSideEntry
	default:
		return
	}
innerSideEntry:
	n = a[0]
	a = a[1:]
	switch n {
	case 1:
		goto outer
	case 2:
		goto inner
	case 3:
		goto inner
	}
	ggg(p, q)
	goto inner
}

var b bool

func ggg(p, q *int) {
	n := *p + 5 // this +5 ends up in the entry block, well before the *p load
	if b {
		*q = 0
	}
	*p = n
}

func main() {
	var x, y int
	fff([]int{4, 4, 4}, false, &x, &y)
	if x != 5 {
		fmt.Println("FAIL: x =", x, "want 5")
		os.Exit(1)
	}
	fmt.Println("ok")
}
