package storebench_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/pgtest"
)

// BenchmarkPublishLatency measures, on pgstore, how long an event takes
// from Publish to the receiver's handler when the queue is idle, with the
// three parts in three processes as in production: this one publishes
// (an application server), a Dispatcher with the default Config runs in
// another (a worker, woken by LISTEN/NOTIFY), and the receiver in a third.
// One event at a time; it reports the 50th and 99th percentiles.
func BenchmarkPublishLatency(b *testing.B) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(b)
	store := openPostgres(b, dsn)
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	recv := startReceiver(b, 1)
	subscribe(b, store, "sub_latency", "org_latency", recv.urls[0]+"/ok")
	startProcess(b, "dispatcher", "STOREBENCH_DSN="+dsn)
	publisher := newDispatcher(b, store, nil) // never started

	publishOne := func() {
		b.Helper()
		n, _ := recv.count()
		err := publisher.Publish(ctx, benchEvent("org_latency"))
		if err != nil {
			b.Fatal(err)
		}
		recv.wait(b, n+1, 30*time.Second)
	}
	publishOne() // connections and the LISTEN are set up
	recv.reset()
	b.ResetTimer()
	for range b.N {
		publishOne()
	}
	b.StopTimer()
	var lat []time.Duration
	for _, r := range recv.receipts() {
		lat = append(lat, r.received.Sub(r.sent))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
