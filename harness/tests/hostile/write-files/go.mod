module divergo.hostile/write-files

go 1.14
