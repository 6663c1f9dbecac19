// golang/go#66096: cmd/compile: ICE 'interface conversion: ir.Node is
//   *ir.ConvExpr, not *ir.IndexExpr' (title not retrieved)
// Bad release: go1.22.1. Fixed release: go1.22.2. GOARCH: amd64.
// Class: compiler: front end (walk/order.go m[k] = append(m[k], ...)
//   rewrite).
// On go1.22.1: build fails: internal compiler error: panic: interface
//   conversion: ir.Node is *ir.ConvExpr, not *ir.IndexExpr.
// On go1.22.2: builds, prints [v w].
// Verified with a go.mod saying "go 1.14".
// Program shape: m[k] = append(T(m[k]), v) where the first append argument
//   is the same map element wrapped in a no-op conversion to its own type.

package main

import "fmt"

type Message struct {
	Header map[string][]string
}

func main() {
	m := Message{Header: map[string][]string{}}
	m.Header["k"] = append([]string(m.Header["k"]), "v")
	m.Header["k"] = append([]string(m.Header["k"]), "w")
	fmt.Println(m.Header["k"])
}
