module github.com/onplana/webhook/internal/storebench

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/onplana/webhook v0.0.0-00010101000000-000000000000
	github.com/onplana/webhook/internal/pgtest v0.0.0-00010101000000-000000000000
	github.com/onplana/webhook/otelwebhook v0.0.0-00010101000000-000000000000
	github.com/onplana/webhook/pgstore v0.0.0-00010101000000-000000000000
	github.com/onplana/webhook/sqlitestore v0.0.0-00010101000000-000000000000
	go.opentelemetry.io/otel/metric v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
	golang.org/x/sync v0.24.0
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.62.0 // indirect
)

replace (
	github.com/onplana/webhook => ../..
	github.com/onplana/webhook/internal/pgtest => ../pgtest
	github.com/onplana/webhook/otelwebhook => ../../otelwebhook
	github.com/onplana/webhook/pgstore => ../../pgstore
	github.com/onplana/webhook/sqlitestore => ../../sqlitestore
)
