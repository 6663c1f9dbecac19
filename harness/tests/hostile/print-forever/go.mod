module divergo.hostile/print-forever

go 1.14
