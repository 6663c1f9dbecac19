module divergo.corpus/arm64-split-sp-73259

go 1.14
