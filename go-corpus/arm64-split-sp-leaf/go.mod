module divergo.corpus/arm64-split-sp-leaf

go 1.14
