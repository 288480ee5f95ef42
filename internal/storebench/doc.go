// Package storebench measures the Dispatcher end to end on each Store,
// with a receiver in another process: how fast a backlog to one endpoint
// drains (MemoryStore, sqlitestore and pgstore, default Config and 32
// slots, beside raw net/http POSTs), what the OpenTelemetry adapter
// (otelwebhook.Observer: metrics alone, and with 10 % or all attempt spans
// sampled) costs the Dispatcher's CPU per delivery in the same drain with
// the default Config, a five-minute soak at a steady rate on pgstore,
// idle publish-to-receipt latency with publisher, dispatcher and receiver
// in three processes, and the CPU an idle dispatcher uses on pgstore. It
// holds only tests and benchmarks, in a module of its own (which requires
// otelwebhook and the OpenTelemetry SDK, so that the webhook module need
// not); BENCHMARKS.md records their results and the commands, such as
//
//	go test -run '^$' -bench 'Backlog' -benchtime 1x ./internal/storebench
//	go test -run '^$' -bench 'ObserverDrain' -benchtime 1x -count 10 ./internal/storebench
//
// with WEBHOOK_TEST_POSTGRES_DSN set (.ci/postgres.sh) for the PostgreSQL
// cases.
package storebench
