// Package storebench measures the Dispatcher end to end on each Store:
// deliveries per second on MemoryStore, sqlitestore and pgstore with the
// same receiver and concurrency, publish-to-receiver latency, and the CPU
// an idle dispatcher uses on pgstore. It holds only tests and benchmarks;
// BENCHMARKS.md records their results. Run them with
//
//	go test -run 'IdleCPU' -bench . -benchtime 10000x ./internal/storebench
//
// with WEBHOOK_TEST_POSTGRES_DSN set (.ci/postgres.sh) for the PostgreSQL
// cases.
package storebench
