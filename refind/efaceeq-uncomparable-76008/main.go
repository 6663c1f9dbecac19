// golang/go#76008 (probable): cmd/compile: any(func(){})==any(func(){})
//   does not panic but should
// Bad release: go1.25.3. Fixed release: go1.25.4. GOARCH: amd64.
// Class: compiler: generic rewrite rules (efaceeq folded to pointer compare
//   for direct-iface but uncomparable types).
// On go1.25.3: eq returned true, FAIL: comparison of map values in
//   interfaces did not panic, exit 1.
// On go1.25.4: prints 'ok, panicked: runtime error: comparing uncomparable
//   type map[int]int'.
// Verified with a go.mod saying "go 1.14".
// Program shape: == between two interface{} values whose dynamic type is a
//   map (or func), with recover expecting the run-time panic.

package main

import (
	"fmt"
	"os"
)

//go:noinline
func eq(m map[int]int, b interface{}) bool {
	var a interface{} = m
	// Comparing two interfaces holding the same uncomparable dynamic
	// type (a map) must panic at run time.
	return a == b
}

func main() {
	m := map[int]int{1: 1}
	defer func() {
		r := recover()
		if r == nil {
			fmt.Println("FAIL: comparison of map values in interfaces did not panic")
			os.Exit(1)
		}
		fmt.Println("ok, panicked:", r)
	}()
	r := eq(m, m)
	fmt.Println("eq returned", r)
}
