package storebench_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/sqlitestore"
)

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
		s, err := sqlitestore.Open(filepath.Join(tb.TempDir(), "bench.db"), &sqlitestore.Config{Logger: slog.New(slog.DiscardHandler)})
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
	s := openPostgres(tb, dsn)
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s, openPostgres(tb, dsn)
}

// openPostgres opens pgstore with its defaults on the database at dsn,
// with a pool of its own whose statements queries counts.
func openPostgres(tb testing.TB, dsn string) *pgstore.Store {
	tb.Helper()
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

// queries counts the statements pgstore sends, each one round trip: the
// cost per delivery that the store controls.
var queries queryCounter

type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (*queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// localConfig returns the library's default Config but for what a local
// receiver needs (plain http to 127.0.0.1) and a silent logger; edit, when
// set, changes it further.
func localConfig(edit func(*webhook.Config)) *webhook.Config {
	c := &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// newDispatcher returns a Dispatcher over store with localConfig(edit),
// closed when tb ends.
func newDispatcher(tb testing.TB, store webhook.Store, edit func(*webhook.Config)) *webhook.Dispatcher {
	tb.Helper()
	d, err := webhook.NewDispatcher(store, localConfig(edit))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close(context.Background()) })
	return d
}

// subscribe stores a subscription of org to every event, sent to url,
// directly in the store (a Dispatcher's CreateSubscription would also send
// a ping).
func subscribe(tb testing.TB, store webhook.Store, id, org, url string) {
	tb.Helper()
	err := store.CreateSubscription(context.Background(), &webhook.Subscription{
		ID: id, OrganizationID: org, URL: url, EventTypes: []string{"*"},
		Secrets: []webhook.SigningSecret{{Secret: webhook.NewSecret(), CreatedAt: time.Now()}},
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// publish publishes n task.created events of org through d with ctx, 8
// at a time, as concurrent requests of an application would.
func publish(tb testing.TB, ctx context.Context, d *webhook.Dispatcher, org string, n int) {
	tb.Helper()
	var g errgroup.Group
	g.SetLimit(8)
	for range n {
		g.Go(func() error {
			return d.Publish(ctx, benchEvent(org))
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}

// claimCounter is a Store that counts the deliveries its Claim hands out.
type claimCounter struct {
	webhook.Store
	claimed atomic.Int64
}

func (s *claimCounter) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.Store.Claim(ctx, now, limit, lease, skip)
	s.claimed.Add(int64(len(cs)))
	return cs, err
}

// WorkAvailable passes on the store's notifications, if it has them.
func (s *claimCounter) WorkAvailable() <-chan struct{} {
	if wn, ok := s.Store.(webhook.WorkNotifier); ok {
		return wn.WorkAvailable()
	}
	return nil
}

// attemptTimer is an Observer that adds up how long attempts took.
type attemptTimer struct{ total atomic.Int64 }

func (o *attemptTimer) AttemptFinished(_ *webhook.Delivery, a *webhook.Attempt) {
	o.total.Add(int64(a.Duration))
}

func (o *attemptTimer) DeliveryStateChanged(*webhook.Delivery) {}

// backlog is the size of the backlog BenchmarkBacklog drains.
const backlog = 20_000

// BenchmarkBacklog publishes a backlog of 20,000 events to one
// subscription, whose endpoint is a receiver in another process answering
// 204 at once, then starts a Dispatcher and times until the receiver has
// every delivery and their results are recorded. It runs with the default
// Config and with Workers = MaxPerEndpoint = 32, and reports deliveries
// per second, how busy the endpoint's MaxPerEndpoint slots were (attempt
// time over slots × time), how many times each delivery was claimed, and
// on pgstore the statements per delivery. The raw-http rows are the
// baseline: the same number of POSTs of a delivery-sized body, with as
// many keep-alive connections as the endpoint has slots, from a plain
// net/http client and nothing else. Run it with -benchtime 1x: each
// iteration is a whole backlog.
func BenchmarkBacklog(b *testing.B) {
	recv := startReceiver(b, 1)
	configs := []struct {
		name  string
		slots int // Workers and MaxPerEndpoint; 0 for the defaults
	}{{"default", 0}, {"32-slots", 32}}
	for _, cfg := range configs {
		b.Run("raw-http/"+cfg.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				recv.reset()
				b.StartTimer()
				start := time.Now()
				rawPosts(b, recv.urls[0]+"/ok", cmp.Or(cfg.slots, webhook.DefaultMaxPerEndpoint))
				recv.wait(b, backlog, time.Minute)
				b.ReportMetric(backlog/time.Since(start).Seconds(), "deliveries/s")
			}
		})
	}
	for _, sc := range stores {
		for _, cfg := range configs {
			b.Run(sc.name+"/"+cfg.name, func(b *testing.B) {
				for range b.N {
					var timer attemptTimer
					r := drainBacklog(b, recv, sc, drainSetup{dispatcher: func(c *webhook.Config) {
						c.Workers, c.MaxPerEndpoint = cfg.slots, cfg.slots
						c.Observer = &timer
					}})
					r.report(b)
					slots := cmp.Or(cfg.slots, webhook.DefaultMaxPerEndpoint)
					b.ReportMetric(100*float64(timer.total.Load())/float64(slots)/float64(r.elapsed), "slots-busy-%")
				}
			})
		}
	}
}

// drainSetup is what a drain of the backlog runs with, beside the store.
type drainSetup struct {
	// ctx is the context of the Publish calls; nil for Background.
	ctx context.Context
	// publisher and dispatcher edit the Config of the Dispatcher that
	// publishes the backlog (never started: an application server) and of
	// the one that drains it; either may be nil.
	publisher, dispatcher func(*webhook.Config)
	// finish, when set, runs once the draining Dispatcher has closed,
	// within the measured time: for an exporter's last flush.
	finish func(testing.TB)
}

// drained is the outcome of one drain of the backlog.
type drained struct {
	store   webhook.Store // as the store case opened it
	elapsed time.Duration
	// self and machine are this process's CPU time and the whole
	// machine's during the drain; cpu is false where the platform cannot
	// tell them.
	self, machine time.Duration
	cpu           bool
	claimed       int64 // deliveries Claim handed out
	queries       int64 // statements sent to PostgreSQL, on pgstore
	dups          int   // deliveries the receiver got more than once
}

// drainBacklog publishes backlog events to one subscription on a fresh
// store of sc, whose endpoint is recv's /ok, then starts a Dispatcher and
// measures until recv has every delivery and the Dispatcher has recorded
// every result and closed (and setup.finish has run). Only that part is
// timed: it stops b's timer for the rest.
func drainBacklog(b *testing.B, recv *receiver, sc storeCase, setup drainSetup) drained {
	b.Helper()
	b.StopTimer()
	inner, publisherStore := sc.open(b)
	store := &claimCounter{Store: inner}
	subscribe(b, store, "sub_backlog", "org_backlog", recv.urls[0]+"/ok")
	publish(b, cmp.Or(setup.ctx, context.Background()), newDispatcher(b, publisherStore, setup.publisher), "org_backlog", backlog)
	recv.reset()
	d := newDispatcher(b, store, setup.dispatcher)
	queries.n.Store(0)
	// The garbage of the publishing, and of the drain before, is not
	// this drain's.
	runtime.GC()
	b.StartTimer()
	machine0, ok0 := benchcpu.Machine()
	self0, ok1 := benchcpu.Process()
	start := time.Now()
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	recv.wait(b, backlog, 10*time.Minute)
	// Drained once every result is recorded too.
	if err := d.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if setup.finish != nil {
		setup.finish(b)
	}
	elapsed := time.Since(start)
	machine1, ok2 := benchcpu.Machine()
	self1, ok3 := benchcpu.Process()
	b.StopTimer()
	_, dups := recv.count()
	return drained{
		store: inner, elapsed: elapsed,
		self: self1 - self0, machine: machine1 - machine0, cpu: ok0 && ok1 && ok2 && ok3,
		claimed: store.claimed.Load(), queries: queries.n.Load(), dups: dups,
	}
}

// perDelivery returns t per delivery of the backlog, in microseconds.
func perDelivery(t time.Duration) float64 { return float64(t.Microseconds()) / backlog }

// rate returns the deliveries per second of the drain.
func (r drained) rate() float64 { return backlog / r.elapsed.Seconds() }

// report reports the drain's metrics to b: deliveries per second, CPU per
// delivery (this process's, and the whole machine's: the receiver's and
// PostgreSQL's included), claims per delivery, duplicates if any, and on
// pgstore statements per delivery.
func (r drained) report(b *testing.B) {
	if r.cpu {
		b.ReportMetric(perDelivery(r.machine), "machine-cpu-µs/delivery")
		b.ReportMetric(perDelivery(r.self), "dispatcher-cpu-µs/delivery")
	}
	b.ReportMetric(r.rate(), "deliveries/s")
	b.ReportMetric(float64(r.claimed)/backlog, "claims/delivery")
	if r.dups > 0 {
		b.ReportMetric(float64(r.dups), "duplicates")
	}
	if _, ok := r.store.(*pgstore.Store); ok {
		b.ReportMetric(float64(r.queries)/backlog, "queries/delivery")
	}
}

// rawPosts sends backlog POSTs of a delivery-sized JSON body to url over
// conns keep-alive connections of a plain net/http client, each with a
// distinct delivery id header.
func rawPosts(tb testing.TB, url string, conns int) {
	tb.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var g errgroup.Group
	for range conns {
		g.Go(func() error {
			for {
				i := next.Add(1)
				if i > backlog {
					return nil
				}
				body := fmt.Appendf(nil, `{"delivery_id":"dlv_raw_%d","event":"task.created","data":%s}`, i, eventData())
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(webhook.DefaultDeliveryHeader, fmt.Sprintf("dlv_raw_%d", i))
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}
