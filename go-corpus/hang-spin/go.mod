module divergo.corpus/hang-spin

go 1.14
