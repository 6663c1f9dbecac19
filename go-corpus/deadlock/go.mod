module divergo.corpus/deadlock

go 1.14
