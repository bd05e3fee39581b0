module github.com/imaplib2go/imaplib2

go 1.26.8

require (
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/text v0.44.0 // indirect
)
