module divergo.corpus/ok-checksum

go 1.14
