package otelwebhook_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onplana/webhook/otelwebhook"
)

// telemetry is an OpenTelemetry SDK whose metrics are read on demand
// (ManualReader) and whose spans are kept in memory once ended.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tm := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tm.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tm.reader))
	tm.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tm.spans))
	t.Cleanup(func() {
		_ = tm.mp.Shutdown(context.Background())
		_ = tm.tp.Shutdown(context.Background())
	})
	return tm
}

// config returns a Config reporting to tm.
func (tm *telemetry) config() *otelwebhook.Config {
	return &otelwebhook.Config{MeterProvider: tm.mp, TracerProvider: tm.tp}
}

// tracer is a tracer of the test itself, for the spans around Publish.
func (tm *telemetry) tracer() trace.Tracer { return tm.tp.Tracer("test") }

// metrics collects every metric of the package's scope, by name.
type metrics map[string]metricdata.Aggregation

func (tm *telemetry) collect(t *testing.T) metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tm.reader.Collect(context.Background(), &rm))
	out := metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelwebhook.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sum returns the value of the data point of the int64 sum name whose
// attributes are exactly attrs, and whether there is one.
func (m metrics) sum(t *testing.T, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	data, ok := m[name]
	if !ok {
		return 0, false
	}
	s, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T, not an int64 sum", name, data)
	want := attribute.NewSet(attrs...)
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// requireSum requires the data point of sum name with exactly attrs to be
// want.
func (m metrics) requireSum(t *testing.T, want int64, name string, attrs ...attribute.KeyValue) {
	t.Helper()
	got, ok := m.sum(t, name, attrs...)
	require.True(t, ok, "%s has no data point %v; it has %v", name, attrs, m.pointsOf(name))
	require.Equal(t, want, got, "%s %v", name, attrs)
}

// histogram returns the data point of the float64 histogram name whose
// attributes are exactly attrs.
func (m metrics) histogram(t *testing.T, name string, attrs ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	data, ok := m[name]
	require.True(t, ok, "no metric %s", name)
	h, ok := data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T, not a float64 histogram", name, data)
	want := attribute.NewSet(attrs...)
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp
		}
	}
	require.FailNow(t, "no data point", "%s has no data point %v; it has %v", name, attrs, m.pointsOf(name))
	return metricdata.HistogramDataPoint[float64]{}
}

// gauge returns the value of the data point of the float64 gauge name
// whose attributes are exactly attrs.
func (m metrics) gauge(t *testing.T, name string, attrs ...attribute.KeyValue) float64 {
	t.Helper()
	data, ok := m[name]
	require.True(t, ok, "no metric %s", name)
	g, ok := data.(metricdata.Gauge[float64])
	require.True(t, ok, "%s is a %T, not a float64 gauge", name, data)
	want := attribute.NewSet(attrs...)
	for _, dp := range g.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	require.FailNow(t, "no data point", "%s has no data point %v; it has %v", name, attrs, m.pointsOf(name))
	return 0
}

// pointsOf lists the attribute sets of name's data points, for messages.
func (m metrics) pointsOf(name string) []string {
	var out []string
	add := func(s attribute.Set) { out = append(out, s.Encoded(attribute.DefaultEncoder())) }
	switch d := m[name].(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes)
		}
	}
	return out
}

// ended returns the ended spans for which keep is true.
func (tm *telemetry) ended(keep func(sdktrace.ReadOnlySpan) bool) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tm.spans.Ended() {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := make(map[attribute.Key]attribute.Value)
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// hasAttr reports whether s has attribute kv.
func hasAttr(kv attribute.KeyValue) func(sdktrace.ReadOnlySpan) bool {
	return func(s sdktrace.ReadOnlySpan) bool {
		v, ok := attrs(s)[kv.Key]
		return ok && v == kv.Value
	}
}
