module github.com/onplana/webhook/internal/receiverbench

go 1.26.0

require (
	github.com/go-playground/webhooks/v6 v6.4.0
	github.com/onplana/webhook v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/onplana/webhook => ../..
