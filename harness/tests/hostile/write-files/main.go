// Writes files into its working directory and HOME, then succeeds.
package main

import (
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
)

func main() {
	dir, _ := os.Getwd()
	for i := 0; i < 100; i++ {
		name := filepath.Join(dir, fmt.Sprintf("junk-%d.bin", i))
		if err := ioutil.WriteFile(name, make([]byte, 64<<10), 0644); err != nil {
			fmt.Println("write failed:", err)
			os.Exit(1)
		}
	}
	if home := os.Getenv("HOME"); home != "" {
		ioutil.WriteFile(filepath.Join(home, ".divergo-hostile-marker"), []byte("x"), 0644)
	}
	fmt.Println("wrote files in", dir)
	fmt.Printf("checksum: %016x\n", 100)
}
