module repro

go 1.14
