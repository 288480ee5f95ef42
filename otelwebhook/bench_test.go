//go:build unix

package otelwebhook_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/otelwebhook"
)

// benchData is the data of the benchmark's events: a task of a realistic
// size, as in the webhook package's dispatcher benchmarks.
var benchData = []byte(`{"task":{"id":"task_01hzy3","title":"Prepare the quarterly portfolio review","status":"in_progress",` +
	`"priority":"high","assignee_ids":["usr_1","usr_2"],"due_date":"2026-07-01","project_id":"proj_1",` +
	`"created_at":"2026-06-01T10:00:00Z","updated_at":"2026-06-27T09:15:23Z"},` +
	`"diff":{"due_date":{"before":"2026-06-28","after":"2026-07-01"}},"actor":{"id":"usr_3","name":"Ada"}}`)

// benchCounter signals when n deliveries of events have succeeded.
type benchCounter struct {
	succeeded atomic.Int64
	n         int64
	done      chan struct{}
}

func (c *benchCounter) ended(d *webhook.Delivery) {
	if d.State == webhook.StateSucceeded && d.EventType != webhook.EventPing && c.succeeded.Add(1) == c.n {
		close(c.done)
	}
}

// plainObserver is the baseline: an Observer that only counts.
type plainObserver struct{ *benchCounter }

func (plainObserver) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}
func (o plainObserver) DeliveryStateChanged(d *webhook.Delivery)          { o.ended(d) }

// countingOTel is the adapter, which also counts.
type countingOTel struct {
	*otelwebhook.Observer
	*benchCounter
}

func (o countingOTel) DeliveryStateChanged(d *webhook.Delivery) {
	o.Observer.DeliveryStateChanged(d)
	o.ended(d)
}

// BenchmarkObserverOverhead measures the adapter's cost per delivery:
// six rounds of b.N deliveries from Publish to a local receiver, each by a
// fresh Dispatcher over a MemoryStore with 64 attempts in flight,
// alternately with a counting Observer and with an otelwebhook.Observer
// on the OpenTelemetry SDK (metrics aggregated for a ManualReader; attempt
// spans batched to an exporter that drops them), which of the two goes
// first alternating too. Each event is published inside a span, so that
// its trace context is encoded and stored, and decoded into the link of
// each sampled attempt span. The sub-benchmarks sample every attempt span,
// one in ten, none, or have a no-op TracerProvider (metrics alone). Each
// reports the median process CPU time per delivery with and without the
// adapter (user and system, the receiver's included: what a shared machine
// disturbs least) and the median ratio of the two.
func BenchmarkObserverOverhead(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: a no-op TracerProvider
	}{
		{"spans=all", sdktrace.AlwaysSample()},
		{"spans=10%", sdktrace.TraceIDRatioBased(0.1)},
		{"spans=none", sdktrace.NeverSample()},
		{"metrics-only", nil},
	} {
		b.Run(bc.name, func(b *testing.B) { observerOverhead(b, bc.sampler) })
	}
}

// observerOverhead is BenchmarkObserverOverhead with spans sampled by
// sampler, or with a no-op TracerProvider when sampler is nil.
func observerOverhead(b *testing.B, sampler sdktrace.Sampler) {
	const rounds = 6
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)

	otelObs, _ := benchObserver(b, sampler, tracetest.NewNoopExporter())
	// The publisher's span is always sampled, so that every event has a
	// trace context to store and link, whatever the attempts' sampler.
	ctx, span := sdktrace.NewTracerProvider().Tracer("bench").Start(context.Background(), "publish")
	defer span.End()

	round := func(adapter bool) float64 {
		c := &benchCounter{n: int64(b.N), done: make(chan struct{})}
		var obs webhook.Observer = plainObserver{c}
		if adapter {
			obs = countingOTel{otelObs, c}
		}
		runtime.GC()
		return deliverRound(b, srv.URL, ctx, obs, c)
	}
	var plain, with, ratios []float64
	b.ResetTimer()
	for i := range rounds {
		// Which goes first alternates: the second of two rounds runs on
		// the heap and caches the first left.
		var p, w float64
		if i%2 == 0 {
			p, w = round(false), round(true)
		} else {
			w, p = round(true), round(false)
		}
		plain, with, ratios = append(plain, p), append(with, w), append(ratios, w/p)
	}
	b.ReportMetric(median(plain), "plain-cpu-µs/delivery")
	b.ReportMetric(median(with), "otel-cpu-µs/delivery")
	b.ReportMetric(median(ratios), "ratio")
}

// deliverRound publishes c.n events under ctx to one subscription of a
// fresh Dispatcher reporting to obs, waits until c says they were all
// delivered, and returns the process CPU time per delivery in
// microseconds.
func deliverRound(b *testing.B, url string, ctx context.Context, obs webhook.Observer, c *benchCounter) float64 {
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{
		Workers:         64,
		MaxPerEndpoint:  64,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Observer:        obs,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: url + "/hook", EventTypes: []string{"task.*"},
	}); err != nil {
		b.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer d.Close(context.Background())
	e := webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: benchData}

	start := processCPU(b)
	for range c.n {
		if err := d.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", c.succeeded.Load(), c.n)
	}
	return float64(processCPU(b)-start) / float64(c.n) / 1e3
}

// processCPU returns the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Skip("needs the process CPU time:", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkObserverCalls measures what the adapter does for one delivery
// that succeeds at its first attempt, alone: AttemptRecorded and
// DeliveryStateChanged, as a Dispatcher's recorders call them, from
// GOMAXPROCS goroutines at once. Its variants: metrics only (a no-op
// TracerProvider), and attempt spans sampled one in ten or all
// (ParentBased(TraceIDRatioBased), batched to an exporter that drops
// them; the batch span processor blocks rather than drop a span). The
// delivery carries a publisher's trace context, decoded into the link of
// each sampled span. sdk-measurements is the floor the OpenTelemetry SDK
// sets: the four measurements of a delivery (two counters, two
// histograms) with attribute sets built beforehand, and nothing else. It
// reports the process CPU time per delivery, the batch span processor's
// included; run it with -cpu 1,2 for the cost alone and with two cores
// recording at once, as a Dispatcher's recorders do.
func BenchmarkObserverCalls(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: a no-op TracerProvider
	}{
		{"metrics-only", nil},
		{"traces-10%", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
		{"traces-all", sdktrace.AlwaysSample()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var exported countingExporter
			// Blocking: a span dropped would not be paid for.
			o, sdk := benchObserver(b, bc.sampler, &exported, sdktrace.WithBlocking())
			now := time.Now()
			a := &webhook.Attempt{Number: 1, StartedAt: now, Duration: time.Millisecond, StatusCode: http.StatusNoContent}
			perDelivery := parallelCPU(b, func(pb *testing.PB) {
				d := &webhook.Delivery{
					ID: "dlv_01jz8k3m4n5p6q7r8s9t0v1w2x", EventID: "evt_01jz8k3m4n5p6q7r8s9t0v1w2y", SubscriptionID: "sub_1",
					EventType: webhook.EventTaskUpdated, State: webhook.StateSucceeded,
					CreatedAt: now.Add(-time.Second), UpdatedAt: now,
					TraceContext: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				}
				for pb.Next() {
					o.AttemptRecorded(d, a, "https://hooks.example.com/webhook")
					o.DeliveryStateChanged(d)
				}
			}, func() {
				if sdk != nil {
					// The spans still queued are work of the deliveries
					// measured.
					_ = sdk.ForceFlush(context.Background())
				}
			})
			b.ReportMetric(perDelivery, "cpu-ns/delivery")
			if sdk != nil {
				b.ReportMetric(float64(exported.n.Load())/float64(b.N), "spans/delivery")
			}
		})
	}
	b.Run("sdk-measurements", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		m := mp.Meter("bench")
		attempts, err1 := m.Int64Counter("attempts")
		attemptDuration, err2 := m.Float64Histogram("attempt.duration")
		deliveries, err3 := m.Int64Counter("deliveries")
		deliveryDuration, err4 := m.Float64Histogram("delivery.duration")
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			b.Fatal(err)
		}
		attempt := attribute.NewSet(otelwebhook.EventTypeKey.String(string(webhook.EventTaskUpdated)),
			semconv.ServerAddress("hooks.example.com"), semconv.ServerPort(443), semconv.HTTPResponseStatusCode(http.StatusNoContent))
		delivery := attribute.NewSet(otelwebhook.EventTypeKey.String(string(webhook.EventTaskUpdated)),
			otelwebhook.DeliveryStateKey.String(string(webhook.StateSucceeded)))
		addAttempt, recordAttempt := []metric.AddOption{metric.WithAttributeSet(attempt)}, []metric.RecordOption{metric.WithAttributeSet(attempt)}
		addDelivery, recordDelivery := []metric.AddOption{metric.WithAttributeSet(delivery)}, []metric.RecordOption{metric.WithAttributeSet(delivery)}
		ctx := context.Background()
		perDelivery := parallelCPU(b, func(pb *testing.PB) {
			for pb.Next() {
				attempts.Add(ctx, 1, addAttempt...)
				attemptDuration.Record(ctx, 0.001, recordAttempt...)
				deliveries.Add(ctx, 1, addDelivery...)
				deliveryDuration.Record(ctx, 1, recordDelivery...)
			}
		}, nil)
		b.ReportMetric(perDelivery, "cpu-ns/delivery")
	})
}

// parallelCPU runs body with b.RunParallel, then finish if set, and
// returns the process CPU time per iteration in nanoseconds.
func parallelCPU(b *testing.B, body func(*testing.PB), finish func()) float64 {
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	start := processCPU(b)
	b.RunParallel(body)
	if finish != nil {
		finish()
	}
	return float64(processCPU(b)-start) / float64(b.N)
}

// countingExporter counts the spans exported to it and drops them.
type countingExporter struct{ n atomic.Int64 }

func (e *countingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.n.Add(int64(len(spans)))
	return nil
}

func (*countingExporter) Shutdown(context.Context) error { return nil }

// benchObserver returns an Observer recording into an SDK MeterProvider
// read by hand and, when sampler is not nil, into the SDK TracerProvider
// it also returns, which samples with sampler and batches to exporter
// with batch's options; with a nil sampler, into a no-op TracerProvider
// (and the SDK one returned is nil). Both are shut down when b ends.
func benchObserver(b *testing.B, sampler sdktrace.Sampler, exporter sdktrace.SpanExporter, batch ...sdktrace.BatchSpanProcessorOption) (*otelwebhook.Observer, *sdktrace.TracerProvider) {
	var tp trace.TracerProvider = noop.NewTracerProvider()
	var sdk *sdktrace.TracerProvider
	if sampler != nil {
		sdk = sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(exporter, batch...))
		b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	o, err := otelwebhook.NewObserver(&otelwebhook.Config{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		b.Fatal(err)
	}
	return o, sdk
}
