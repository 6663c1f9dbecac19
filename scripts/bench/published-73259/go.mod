module divergo.bench/published73259

go 1.14
