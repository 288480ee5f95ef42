// Package storebench measures the Dispatcher end to end on each Store,
// with a receiver in another process: how fast a backlog to one endpoint
// drains (MemoryStore, sqlitestore and pgstore, default Config and 32
// slots, beside raw net/http POSTs), a five-minute soak at a steady rate
// on pgstore, idle publish-to-receipt latency with publisher, dispatcher
// and receiver in three processes, and the CPU an idle dispatcher uses on
// pgstore. It holds only tests and benchmarks, in a module of its own;
// BENCHMARKS.md records their results and the commands, such as
//
//	go test -run '^$' -bench 'Backlog' -benchtime 1x ./internal/storebench
//
// with WEBHOOK_TEST_POSTGRES_DSN set (.ci/postgres.sh) for the PostgreSQL
// cases.
package storebench
