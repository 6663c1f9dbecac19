module divergo.corpus/panic-index

go 1.14
