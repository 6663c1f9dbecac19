module divergo.hostile/thread-bomb

go 1.14
