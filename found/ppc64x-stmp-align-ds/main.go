package main

// go1.27 gives the static backing store of a composite literal of bytes the
// alignment of its element (align=1), and ppc64 loads the 8-byte literal with
// one MOVD, a DS-form load whose offset must be a multiple of 4.

//go:noinline
func f(h uint64, i int) int8 {
	v := [8]int8{1, int8(h), int8(h), -128, 1, int8(h), int8(h), int8(h)}
	v[i%8] = v[i%8] >> 5
	return v[i%8]
}

//go:noinline
func g(h uint64, i int) int8 {
	v := [7]int8{1, int8(h), -128, 3, 4, 5, 6}
	v[i%7] = v[i%7] >> 5
	return v[i%7]
}

func main() {
	println(f(7, 3), g(7, 2))
}
