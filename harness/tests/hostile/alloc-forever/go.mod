module divergo.hostile/alloc-forever

go 1.14
