module divergo.hostile/ignore-sigquit

go 1.14
