module divergo.corpus/timer-reset-38023

go 1.14
