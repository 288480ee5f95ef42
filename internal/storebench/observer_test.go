package storebench_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/otelwebhook"
)

// observerVariant is an otelwebhook.Observer set-up that
// BenchmarkObserverDrain measures.
type observerVariant struct {
	name string
	// sampler samples the attempt spans; nil for metrics alone (a no-op
	// TracerProvider).
	sampler sdktrace.Sampler
}

var observerVariants = []observerVariant{
	{"metrics-only", nil},
	{"traces-10%", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
	{"traces-all", sdktrace.AlwaysSample()},
}

// observerRound alternates which of a pair of drains goes first, across
// the rounds of every sub-benchmark and -count.
var observerRound atomic.Int64

// BenchmarkObserverDrain measures what otelwebhook.Observer costs the
// Dispatcher: the drain of BenchmarkBacklog (20,000 deliveries to a
// receiver in another process, default Config) on each store, in pairs
// of drains, one without an Observer (the baseline: Config.Observer nil)
// and one with an otelwebhook.Observer on the OpenTelemetry SDK, which of
// the two goes first alternating from one round to the next. The adapter
// reports its metrics to a MeterProvider with a ManualReader, collected
// once at the end of the drain (and checked to count every attempt); its
// spans go to a no-op TracerProvider in the metrics-only variant, and in
// the traces-* variants to a TracerProvider that samples them with
// ParentBased(TraceIDRatioBased(0.1)) or AlwaysSample and batches them
// (the SDK's default batch span processor) to an exporter that counts and
// drops them; the collection and the last flush are in the measured time. Queue gauges (ObserveQueue) are not
// registered: they cost a QueueStats per collection, not per delivery.
//
// Every event is published inside a sampled span, through a Dispatcher
// whose Observer is an otelwebhook.Observer, in both drains of a pair:
// each delivery is stored with its trace context, as when the publishing
// application traces its requests, and a sampled attempt span decodes it
// into a link.
//
// Each sub-benchmark reports the CPU time of this process per delivery
// with the adapter (dispatcher-cpu-µs/delivery) and without it
// (baseline-cpu-µs/delivery), the ratio of the two (the median of the
// pairs' ratios when b.N > 1), both drains' deliveries per second, and
// with tracing the spans exported per delivery. Run it with -benchtime 1x
// and -count: each iteration is a pair of whole backlogs.
func BenchmarkObserverDrain(b *testing.B) {
	recv := startReceiver(b, 1)
	// The publisher's span, always sampled, whatever the attempts'
	// sampler.
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("storebench").Start(context.Background(), "publish")
	defer span.End()
	publishing, err := otelwebhook.NewObserver(&otelwebhook.Config{
		MeterProvider: metricnoop.NewMeterProvider(), TracerProvider: tracenoop.NewTracerProvider(),
	})
	if err != nil {
		b.Fatal(err)
	}
	publisher := func(c *webhook.Config) { c.Observer = publishing }

	for _, sc := range stores {
		for _, v := range observerVariants {
			b.Run(sc.name+"/"+v.name, func(b *testing.B) {
				var base, with, ratios, baseRate, rate, spans []float64
				for range b.N {
					baseline := func() drained {
						return drainBacklog(b, recv, sc, drainSetup{ctx: ctx, publisher: publisher})
					}
					adapter := func() drained {
						p := newOTelPipeline(b, v.sampler)
						defer p.shutdown()
						r := drainBacklog(b, recv, sc, drainSetup{
							ctx: ctx, publisher: publisher,
							dispatcher: func(c *webhook.Config) { c.Observer = p.observer },
							finish:     p.finish,
						})
						spans = append(spans, float64(p.exported.n.Load())/backlog)
						return r
					}
					var rb, rw drained
					if observerRound.Add(1)%2 == 0 {
						rb, rw = baseline(), adapter()
					} else {
						rw, rb = adapter(), baseline()
					}
					if !rb.cpu || !rw.cpu {
						b.Skip("needs the process CPU time")
					}
					if rb.dups+rw.dups > 0 {
						b.Fatalf("duplicate deliveries: %d without the adapter, %d with it", rb.dups, rw.dups)
					}
					base, with = append(base, perDelivery(rb.self)), append(with, perDelivery(rw.self))
					ratios = append(ratios, float64(rw.self)/float64(rb.self))
					baseRate, rate = append(baseRate, rb.rate()), append(rate, rw.rate())
				}
				b.ReportMetric(median(with), "dispatcher-cpu-µs/delivery")
				b.ReportMetric(median(base), "baseline-cpu-µs/delivery")
				b.ReportMetric(median(ratios), "ratio")
				b.ReportMetric(median(rate), "deliveries/s")
				b.ReportMetric(median(baseRate), "baseline-deliveries/s")
				if v.sampler != nil {
					b.ReportMetric(median(spans), "spans/delivery")
				}
			})
		}
	}
}

// otelPipeline is an otelwebhook.Observer on the OpenTelemetry SDK, with
// a ManualReader for its metrics and, when sampled, a batch span processor
// to an exporter that drops its spans.
type otelPipeline struct {
	observer *otelwebhook.Observer
	reader   *sdkmetric.ManualReader
	meters   *sdkmetric.MeterProvider
	tracers  *sdktrace.TracerProvider // nil without tracing
	exported *discardExporter
}

// newOTelPipeline returns an otelPipeline whose spans sampler samples,
// without tracing (a no-op TracerProvider) when sampler is nil.
func newOTelPipeline(tb testing.TB, sampler sdktrace.Sampler) *otelPipeline {
	tb.Helper()
	p := &otelPipeline{reader: sdkmetric.NewManualReader(), exported: new(discardExporter)}
	p.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.reader))
	var tp trace.TracerProvider = tracenoop.NewTracerProvider()
	if sampler != nil {
		p.tracers = sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(p.exported))
		tp = p.tracers
	}
	obs, err := otelwebhook.NewObserver(&otelwebhook.Config{MeterProvider: p.meters, TracerProvider: tp})
	if err != nil {
		tb.Fatal(err)
	}
	p.observer = obs
	return p
}

// finish collects the metrics, checks that they counted every attempt,
// and flushes the spans.
func (p *otelPipeline) finish(tb testing.TB) {
	ctx := context.Background()
	var rm metricdata.ResourceMetrics
	if err := p.reader.Collect(ctx, &rm); err != nil {
		tb.Fatal(err)
	}
	if got := attemptsCounted(rm); got != backlog {
		tb.Fatalf("webhook.attempts counted %d attempts, want %d", got, backlog)
	}
	if p.tracers != nil {
		if err := p.tracers.ForceFlush(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// shutdown stops the providers.
func (p *otelPipeline) shutdown() {
	p.meters.Shutdown(context.Background())
	if p.tracers != nil {
		p.tracers.Shutdown(context.Background())
	}
}

// attemptsCounted returns the sum of the webhook.attempts counter in rm.
func attemptsCounted(rm metricdata.ResourceMetrics) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "webhook.attempts" {
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// discardExporter is a span exporter that counts the spans and drops
// them.
type discardExporter struct{ n atomic.Int64 }

func (e *discardExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.n.Add(int64(len(spans)))
	return nil
}

func (*discardExporter) Shutdown(context.Context) error { return nil }

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
