module github.com/imkit/imkit/bindings/go

go 1.19
