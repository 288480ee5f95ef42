package storebench_test

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/sqlitestore"
)

// workers is the concurrency of every measured Dispatcher.
const workers = 32

type storeCase struct {
	name string
	// open returns a fresh, empty store, and a second handle on the same
	// data for a publisher that is another process in production (for
	// pgstore a separate Store, so that wake-ups go through NOTIFY).
	open func(tb testing.TB) (webhook.Store, webhook.Store)
}

var stores = []storeCase{
	{"memory", func(tb testing.TB) (webhook.Store, webhook.Store) {
		s := webhook.NewMemoryStore()
		return s, s
	}},
	{"sqlite", func(tb testing.TB) (webhook.Store, webhook.Store) {
		s, err := sqlitestore.Open(filepath.Join(tb.TempDir(), "bench.db"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s, s
	}},
	{"postgres", postgres},
}

// postgres opens pgstore with its defaults on a fresh database, twice.
func postgres(tb testing.TB) (webhook.Store, webhook.Store) {
	dsn := pgtest.NewDatabase(tb)
	open := func() *pgstore.Store {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.ConnConfig.Tracer = &queries
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(pool.Close)
		s, err := pgstore.New(pool, &pgstore.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s, open()
}

// queries counts the statements pgstore sends, each one round trip: the
// cost per delivery that the store controls.
var queries queryCounter

type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (*queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func newDispatcher(tb testing.TB, store webhook.Store) *webhook.Dispatcher {
	tb.Helper()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Workers:         workers,
		MaxPerEndpoint:  workers,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close(context.Background()) })
	return d
}

// BenchmarkEndToEnd publishes b.N events to one subscription, then times a
// Dispatcher with 32 workers delivering them all to a local receiver that
// verifies signatures and deduplicates (webhook.Receiver and
// webhook.Idempotency). It reports deliveries per second.
func BenchmarkEndToEnd(b *testing.B) {
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			ctx := context.Background()
			store, _ := sc.open(b)
			recv := durabletest.NewReceiver(b)
			if err := recv.Subscribe(ctx, store, "org_bench", 1); err != nil {
				b.Fatal(err)
			}
			if err := durabletest.Publish(ctx, store, "org_bench", b.N); err != nil {
				b.Fatal(err)
			}
			d := newDispatcher(b, store)
			queries.n.Store(0)
			b.ResetTimer()
			start := time.Now()
			machine0, self0, cpuOK := cpuUsed()
			if err := d.Start(ctx); err != nil {
				b.Fatal(err)
			}
			durabletest.Wait(b, recv.Processed(b.N), 10*time.Minute, "every delivery")
			elapsed := time.Since(start)
			machine1, self1, _ := cpuUsed()
			b.StopTimer()
			if err := d.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			if cpuOK {
				// All of the machine's CPU per delivery, and the part used
				// by other processes: PostgreSQL's share, for pgstore.
				perDelivery := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
				b.ReportMetric(perDelivery(machine1-machine0), "cpu-µs/delivery")
				b.ReportMetric(perDelivery(machine1-machine0-(self1-self0)), "others-cpu-µs/delivery")
			}
			if _, ok := store.(*pgstore.Store); ok {
				b.ReportMetric(float64(queries.n.Load())/float64(b.N), "queries/delivery")
			}
		})
	}
}

// BenchmarkPublishLatency publishes one event at a time to an idle
// Dispatcher and measures how long it takes to reach the receiver's
// handler. With pgstore the publisher uses its own Store, as an
// application server would, so the dispatcher is woken by LISTEN/NOTIFY.
// It reports the 50th and 99th percentiles.
func BenchmarkPublishLatency(b *testing.B) {
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			ctx := context.Background()
			store, publisherStore := sc.open(b)
			arrived := make(chan struct{}, 1)
			recv := durabletest.NewReceiverFunc(b, func(*webhook.Event) { arrived <- struct{}{} })
			if err := recv.Subscribe(ctx, store, "org_latency", 1); err != nil {
				b.Fatal(err)
			}
			d := newDispatcher(b, store)
			if err := d.Start(ctx); err != nil {
				b.Fatal(err)
			}
			publisher := newDispatcher(b, publisherStore) // never started
			e, err := webhook.NewEvent(webhook.EventTaskCreated, "org_latency", "", map[string]any{"task": map[string]any{"id": "t1"}})
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := publisher.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
				select {
				case <-arrived:
				case <-time.After(30 * time.Second):
					b.Fatal("event did not arrive within 30s")
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
