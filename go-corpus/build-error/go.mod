module divergo.corpus/build-error

go 1.14
