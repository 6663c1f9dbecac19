// Does not compile: an undefined name.
package main

import "fmt"

func main() {
	fmt.Println(undefinedName)
}
