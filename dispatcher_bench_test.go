package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"

	webhook "github.com/onplana/webhook"
)

// benchConcurrency is the number of requests in flight in the throughput
// benchmarks, for the dispatcher and the plain loop alike.
const benchConcurrency = 64

// benchData is the data of the events of the benchmarks: a task of a
// realistic size (the envelope is about 600 bytes).
var benchData = []byte(`{"task":{"id":"task_01hzy3","title":"Prepare the quarterly portfolio review","status":"in_progress",` +
	`"priority":"high","assignee_ids":["usr_1","usr_2"],"due_date":"2026-07-01","project_id":"proj_1",` +
	`"created_at":"2026-06-01T10:00:00Z","updated_at":"2026-06-27T09:15:23Z"},` +
	`"diff":{"due_date":{"before":"2026-06-28","after":"2026-07-01"}},"actor":{"id":"usr_3","name":"Ada"}}`)

// benchReceiver is an httptest server that reads each body and answers 200.
func benchReceiver(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// countingObserver signals when a number of deliveries have succeeded.
type countingObserver struct {
	succeeded atomic.Int64
	target    atomic.Int64
	done      chan struct{}
}

func (o *countingObserver) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}

func (o *countingObserver) DeliveryStateChanged(d *webhook.Delivery) {
	if d.State == webhook.StateSucceeded && d.EventType != webhook.EventPing &&
		o.succeeded.Add(1) == o.target.Load() {
		close(o.done)
	}
}

// BenchmarkDispatcherThroughput measures deliveries per second from Publish
// to a local receiver with 64 attempts in flight: every event published,
// stored, claimed, signed, sent, and its attempt recorded.
func BenchmarkDispatcherThroughput(b *testing.B) {
	srv := benchReceiver(b)
	b.ResetTimer()
	r := dispatcherRound(b, srv.URL, b.N)
	r.report(b, "")
}

// BenchmarkPlainSignedPOSTs is the baseline of BenchmarkDispatcherThroughput:
// 64 goroutines POSTing signed bodies with a plain net/http client, nothing
// stored, nothing retried.
func BenchmarkPlainSignedPOSTs(b *testing.B) {
	srv := benchReceiver(b)
	b.ResetTimer()
	r := plainRound(b, srv.URL, b.N)
	r.report(b, "")
}

// BenchmarkDispatcherVsPlain runs the two rounds above alternately, five
// times each with b.N deliveries, and reports the median rate of each, the
// median ratio of their rates and, where the platform reports it, the
// median process CPU time per delivery of each: on a shared machine,
// alternating is what makes them comparable, and CPU time is what other
// work disturbs least.
func BenchmarkDispatcherVsPlain(b *testing.B) {
	const rounds = 5
	srv := benchReceiver(b)
	var ratios, disp, plain, dispCPU, plainCPU []float64
	b.ResetTimer()
	for range rounds {
		rd, rp := dispatcherRound(b, srv.URL, b.N), plainRound(b, srv.URL, b.N)
		disp, plain, ratios = append(disp, rd.rate), append(plain, rp.rate), append(ratios, rd.rate/rp.rate)
		dispCPU, plainCPU = append(dispCPU, rd.cpu), append(plainCPU, rp.cpu)
	}
	b.ReportMetric(median(disp), "dispatcher-deliveries/s")
	b.ReportMetric(median(plain), "plain-deliveries/s")
	b.ReportMetric(median(ratios), "ratio")
	if _, ok := benchcpu.Process(); ok {
		b.ReportMetric(median(dispCPU), "dispatcher-cpu-µs/delivery")
		b.ReportMetric(median(plainCPU), "plain-cpu-µs/delivery")
	}
}

// roundResult is what one throughput round measured: deliveries per second
// and process CPU time per delivery in microseconds (0 where the platform
// does not report CPU time).
type roundResult struct {
	rate, cpu float64
}

// report reports r's metrics, their names prefixed with prefix.
func (r roundResult) report(b *testing.B, prefix string) {
	b.ReportMetric(r.rate, prefix+"deliveries/s")
	if _, ok := benchcpu.Process(); ok {
		b.ReportMetric(r.cpu, prefix+"cpu-µs/delivery")
	}
}

// cpuMeter measures the process CPU time spent from its start, where the
// platform reports it.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	t, ok := benchcpu.Process()
	return cpuMeter{t, ok}
}

// perOp returns the CPU time spent since m started divided by n, in
// microseconds, or 0 where the platform does not report CPU time.
func (m cpuMeter) perOp(n int) float64 {
	t, ok := benchcpu.Process()
	if !ok || !m.ok {
		return 0
	}
	return float64(t-m.start) / float64(n) / 1e3
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// dispatcherRound publishes n events to one subscription of a fresh
// dispatcher and waits until all are delivered.
func dispatcherRound(b *testing.B, url string, n int) roundResult {
	obs := &countingObserver{done: make(chan struct{})}
	obs.target.Store(int64(n))
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{
		Workers:         benchConcurrency,
		MaxPerEndpoint:  benchConcurrency,
		AllowHTTP:       true,
		AllowedNetworks: localhostOnly,
		Observer:        obs,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: url + "/hook", EventTypes: []string{"task.*"},
	}); err != nil {
		b.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer d.Close(ctx)
	e := webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: benchData}

	start, cpu := time.Now(), startCPU()
	for range n {
		if err := d.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-obs.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", obs.succeeded.Load(), n)
	}
	return roundResult{float64(n) / time.Since(start).Seconds(), cpu.perOp(n)}
}

// plainRound sends n signed POSTs from 64 goroutines with a plain client.
func plainRound(b *testing.B, url string, n int) roundResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency}}
	defer client.CloseIdleConnections()
	secret := webhook.NewSecret()
	body := []byte(`{"delivery_id":"dlv_01hzy3","event_id":"evt_01hzy3","event":"task.updated",` +
		`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_1","project_id":"proj_1","data":` + string(benchData) + `}`)

	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpu := time.Now(), startCPU()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, err := http.NewRequest(http.MethodPost, url+"/hook", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(webhook.DefaultEventHeader, "task.updated")
				req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign(secret, body))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return roundResult{float64(n) / time.Since(start).Seconds(), cpu.perOp(n)}
}

// BenchmarkDispatcherPublish measures Publish (validate, match, build and
// enqueue 10 deliveries) with 1,000 and 100,000 subscriptions in the store:
// the cost must not depend on the number of subscriptions that do not
// match.
func BenchmarkDispatcherPublish(b *testing.B) {
	for _, total := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("subscriptions=%d", total), func(b *testing.B) {
			d, e := publishFixture(b, total)
			ctx := context.Background()
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if err := d.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			if _, ok := benchcpu.Process(); ok {
				b.ReportMetric(cpu.perOp(b.N), "cpu-µs/op")
			}
		})
	}
}

// BenchmarkDispatcherPublishScaling publishes to the two stores of
// BenchmarkDispatcherPublish alternately, five rounds of b.N/5 events each,
// and reports the median CPU time per Publish of each and their ratio
// (100,000 over 1,000 subscriptions), which a shared machine's noise
// affects far less than wall time.
func BenchmarkDispatcherPublishScaling(b *testing.B) {
	const rounds = 5
	if _, ok := benchcpu.Process(); !ok {
		b.Skip("needs the process CPU time, which this platform does not report")
	}
	small, e := publishFixture(b, 1_000)
	large, _ := publishFixture(b, 100_000)
	ctx := context.Background()
	n := max(b.N/rounds, 1)
	round := func(d *webhook.Dispatcher) float64 {
		runtime.GC()
		cpu := startCPU()
		for range n {
			if err := d.Publish(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		return cpu.perOp(n)
	}
	var s, l, ratios []float64
	b.ResetTimer()
	for range rounds {
		cs, cl := round(small), round(large)
		s, l, ratios = append(s, cs), append(l, cl), append(ratios, cl/cs)
	}
	b.ReportMetric(median(s), "cpu-µs/op-1k")
	b.ReportMetric(median(l), "cpu-µs/op-100k")
	b.ReportMetric(median(ratios), "ratio")
}

// publishFixture returns a dispatcher over a MemoryStore holding total
// subscriptions, and an event that exactly 10 of them match.
func publishFixture(b *testing.B, total int) (*webhook.Dispatcher, webhook.Event) {
	b.Helper()
	const matches = 10
	ctx := context.Background()
	store := webhook.NewMemoryStore()
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	patterns := [][]string{{"task.*"}, {"*"}, {"task.updated", "comment.created"}, {"project.*"}}
	add := func(i int, org, project string, types []string) {
		sub := &webhook.Subscription{
			ID:             fmt.Sprintf("sub_%026d", i),
			OrganizationID: org, ProjectID: project,
			URL:        "https://hooks.example.com/" + org,
			EventTypes: types,
			Secrets:    []webhook.SigningSecret{{Secret: webhook.NewSecret(), CreatedAt: now}},
		}
		if err := store.CreateSubscription(ctx, sub); err != nil {
			b.Fatal(err)
		}
	}
	for i := range total - matches {
		project := ""
		if i%3 == 0 {
			project = fmt.Sprintf("proj_%d", i%7)
		}
		add(i, fmt.Sprintf("org_%d", i%1000), project, patterns[i%len(patterns)])
	}
	for i := range matches {
		add(total+i, "org_target", "", patterns[i%3])
	}
	d, err := webhook.NewDispatcher(store, &webhook.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close(ctx) })
	e := webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_target", ProjectID: "proj_1", Data: benchData}
	ids, err := store.MatchSubscriptionIDs(ctx, e.OrganizationID, e.ProjectID, e.Type)
	if err != nil || len(ids) != matches {
		b.Fatalf("want %d matches, got %d (%v)", matches, len(ids), err)
	}
	return d, e
}
