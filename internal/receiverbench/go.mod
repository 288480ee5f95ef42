module github.com/onplana/webhook/internal/receiverbench

go 1.26.0

require (
	github.com/go-playground/webhooks/v6 v6.4.0
	github.com/onplana/webhook v0.0.0-00010101000000-000000000000
)

require github.com/cenkalti/backoff/v4 v4.3.0 // indirect

replace github.com/onplana/webhook => ../..
