package storebench_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook/internal/pgtest"
)

// Soak parameters: 100 subscriptions, one organization each; the first's
// endpoint always answers 500, the next ten answer after soakSlow, the
// rest at once. Events are published at soakRate per second, spread
// evenly over the organizations.
const (
	soakSubscriptions = 100
	soakSlowEndpoints = 10
	soakSlow          = 100 * time.Millisecond
	soakRate          = 1000
)

// BenchmarkSoak publishes events at a steady rate for
// STOREBENCH_SOAK_DURATION (default 5m) to 100 subscriptions on pgstore,
// from a publisher with its own connection pool, while a Dispatcher with
// the default Config delivers them to a receiver in another process. It
// logs, per minute, the deliveries received, the publish-to-receipt
// latency percentiles and the queue table's statistics, then waits for
// every delivery to a working endpoint and checks that none was lost.
// Run it alone, with -benchtime 1x.
func BenchmarkSoak(b *testing.B) {
	duration := 5 * time.Minute
	if v := os.Getenv("STOREBENCH_SOAK_DURATION"); v != "" {
		var err error
		if duration, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		soak(b, duration)
	}
}

func soak(b *testing.B, duration time.Duration) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(b)
	store := openPostgres(b, dsn)
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	publisher := newDispatcher(b, openPostgres(b, dsn), nil) // never started
	stats, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer stats.Close(ctx)

	recv := startReceiver(b, soakSubscriptions)
	for i := range soakSubscriptions {
		path := "/ok"
		switch {
		case i == 0:
			path = "/fail"
		case i <= soakSlowEndpoints:
			path = fmt.Sprintf("/slow/%d", soakSlow.Milliseconds())
		}
		subscribe(b, store, fmt.Sprintf("sub_%03d", i), fmt.Sprintf("org_%03d", i), recv.urls[i]+path)
	}
	d := newDispatcher(b, store, nil)
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}

	// The publisher: every 10 ms, the events due by then, 8 at a time.
	var published, toFailing atomic.Int64
	b.ResetTimer()
	start := time.Now()
	pubCtx, stopPublishing := context.WithTimeout(ctx, duration)
	defer stopPublishing()
	pubDone := make(chan error, 1)
	go func() {
		var g errgroup.Group
		g.SetLimit(8)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for pubCtx.Err() == nil {
			select {
			case <-pubCtx.Done():
			case <-tick.C:
			}
			due := int(time.Since(start).Seconds() * soakRate)
			for ; n < due && pubCtx.Err() == nil; n++ {
				org := n % soakSubscriptions
				g.Go(func() error {
					err := publisher.Publish(ctx, benchEvent(fmt.Sprintf("org_%03d", org)))
					if err == nil {
						published.Add(1)
						if org == 0 {
							toFailing.Add(1)
						}
					}
					return err
				})
			}
		}
		pubDone <- g.Wait()
	}()

	// Once a minute (or at the end of a shorter run): what was received
	// in that minute, and the queue table's statistics.
	type minute struct {
		received, published int
		p50, p99            time.Duration
		table               tableStats
	}
	var minutes []minute
	seen, lastPublished := 0, int64(0)
	sample := func() {
		log := recv.receipts()
		var lat []time.Duration
		for _, r := range log[seen:] {
			lat = append(lat, r.received.Sub(r.sent))
		}
		slices.Sort(lat)
		m := minute{received: len(lat), published: int(published.Load() - lastPublished), table: queueStats(b, stats)}
		if len(lat) > 0 {
			m.p50, m.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
		}
		seen, lastPublished = len(log), published.Load()
		minutes = append(minutes, m)
	}
	interval := min(time.Minute, duration)
	for range int(duration / interval) {
		time.Sleep(time.Until(start.Add(time.Duration(len(minutes)+1) * interval)))
		sample()
	}
	if err := <-pubDone; err != nil {
		b.Fatal(err)
	}

	// Nothing lost: every delivery to a working endpoint arrives, once;
	// those to the failing one wait, pending, in the queue.
	want := int(published.Load() - toFailing.Load())
	recv.wait(b, want, 5*time.Minute)
	drained := time.Since(start)
	b.StopTimer()
	var pending int
	if err := stats.QueryRow(ctx, `SELECT count(*) FROM webhook_queue WHERE subscription_id = 'sub_000'`).Scan(&pending); err != nil {
		b.Fatal(err)
	}
	received, dups := recv.count()

	var out strings.Builder
	fmt.Fprintf(&out, "soak on pgstore, default Config, %d subscriptions (1 failing, %d answering after %v), %d events/s for %v\n",
		soakSubscriptions, soakSlowEndpoints, soakSlow, soakRate, duration)
	fmt.Fprintf(&out, "| %s | published | received | p50 | p99 | queue live | queue dead | queue size | autovacuums |\n", interval)
	fmt.Fprintf(&out, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, m := range minutes {
		fmt.Fprintf(&out, "| %d | %d | %d | %v | %v | %d | %d | %d kB | %d |\n", i+1, m.published, m.received,
			m.p50.Round(100*time.Microsecond), m.p99.Round(100*time.Microsecond),
			m.table.live, m.table.dead, m.table.bytes>>10, m.table.autovacuums)
	}
	fmt.Fprintf(&out, "published %d (%d to the failing endpoint, pending: %d); received %d, duplicates %d; all received %v after the start\n",
		published.Load(), toFailing.Load(), pending, received, dups, drained.Round(time.Second))
	b.Log(out.String())
	if pending != int(toFailing.Load()) {
		b.Fatalf("%d deliveries to the failing endpoint pending, want %d", pending, toFailing.Load())
	}
	last, first := minutes[len(minutes)-1].received, minutes[0].received
	b.ReportMetric(float64(last)/float64(first), "last/first-minute")
	b.ReportMetric(float64(received)/drained.Seconds(), "deliveries/s")
}

// tableStats is what pg_stat_user_tables says of the queue table, and its
// size with its indexes.
type tableStats struct {
	live, dead, autovacuums int64
	bytes                   int64
}

func queueStats(tb testing.TB, conn *pgx.Conn) tableStats {
	tb.Helper()
	var s tableStats
	err := conn.QueryRow(context.Background(), `SELECT n_live_tup, n_dead_tup, autovacuum_count,
		pg_total_relation_size(relid) FROM pg_stat_user_tables WHERE relname = 'webhook_queue'`).
		Scan(&s.live, &s.dead, &s.autovacuums, &s.bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
