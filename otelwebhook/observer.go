package otelwebhook

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/onplana/webhook"
)

// Observer turns a Dispatcher's events into OpenTelemetry metrics and
// spans. Set it as the Dispatcher's webhook.Config.Observer; it implements
// every optional extension of webhook.Observer. Register each store's queue
// gauges with ObserveQueue. It is safe for concurrent use.
//
// Each attempt becomes an HTTP client span, named "POST" as the semantic
// conventions name a request without a route, started and ended at the
// attempt's times once the attempt is recorded. When the event was
// published with a traced context, the span links to the span that
// published it: the trace context is stored with the delivery, so the
// link holds when another process, or the same one after a restart,
// makes the attempt. The span is the root of a trace of its own: one
// event's deliveries and their retries can span days, longer than a trace
// is usually kept open.
//
// See the package documentation for the metrics.
type Observer struct {
	cfg    Config
	tracer trace.Tracer
	meter  metric.Meter
	now    func() time.Time
	w3c    bool // cfg.Propagator is propagation.TraceContext: see publisher
	// traced is false when tracer is a no-op, the usual way to have the
	// metrics alone: the attempt spans are then not started, since even a
	// no-op span costs three allocations.
	traced bool

	deliveries       metric.Int64Counter
	deliveryDuration metric.Float64Histogram
	attempts         metric.Int64Counter
	attemptDuration  metric.Float64Histogram
	disabled         metric.Int64Counter
	queueDeliveries  metric.Int64ObservableUpDownCounter
	queueOldest      metric.Float64ObservableGauge
	queueLag         metric.Float64ObservableGauge

	endpoints    readMostly[string, *endpointInfo]
	attemptSets  readMostly[attemptKey, *measurement]
	deliverySets readMostly[deliveryKey, *measurement]
}

var (
	_ webhook.AttemptObserver = (*Observer)(nil)
	_ webhook.TraceObserver   = (*Observer)(nil)
	_ webhook.DisableObserver = (*Observer)(nil)
	_ webhook.HeaderInjector  = (*Observer)(nil)
)

// durationBuckets are the bucket boundaries of the duration histograms, in
// seconds: the semantic conventions' advice for HTTP durations, up to the
// attempt timeouts (10 s by default) and a little beyond.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30}

// deliveryBuckets are the bucket boundaries of webhook.delivery.duration,
// in seconds: from an immediate success to a retry window of days.
var deliveryBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600}

// NewObserver returns an Observer reporting to cfg's providers; cfg may be
// nil. It returns an error if an instrument cannot be created.
func NewObserver(cfg *Config) (*Observer, error) {
	c := cfg.withDefaults()
	_, w3c := c.Propagator.(propagation.TraceContext)
	o := &Observer{cfg: c, tracer: c.tracer(), meter: c.meter(), now: c.Now, w3c: w3c}
	_, noopTracer := o.tracer.(noop.Tracer)
	o.traced = !noopTracer
	m := o.meter
	var errs [8]error
	o.deliveries, errs[0] = m.Int64Counter("webhook.deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries that ended, by final state: succeeded, or failed once their retries were spent."))
	o.deliveryDuration, errs[1] = m.Float64Histogram("webhook.delivery.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from publishing to the end of a delivery, retries included."),
		metric.WithExplicitBucketBoundaries(deliveryBuckets...))
	o.attempts, errs[2] = m.Int64Counter("webhook.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts of deliveries, by endpoint host, status and error type."))
	o.attemptDuration, errs[3] = m.Float64Histogram("webhook.attempt.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP attempts, from sending the request to reading the answer."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	o.disabled, errs[4] = m.Int64Counter("webhook.subscriptions.disabled", metric.WithUnit("{subscription}"),
		metric.WithDescription("Subscriptions disabled automatically: on 410 Gone, or after failing too long."))
	o.queueDeliveries, errs[5] = m.Int64ObservableUpDownCounter("webhook.queue.deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries in the store's queue, by state: pending, delivering, held (subscription disabled)."))
	o.queueOldest, errs[6] = m.Float64ObservableGauge("webhook.queue.oldest.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest delivery pending or delivering, held ones apart; 0 when the queue is empty."))
	o.queueLag, errs[7] = m.Float64ObservableGauge("webhook.queue.lag", metric.WithUnit("s"),
		metric.WithDescription("How long the earliest due pending delivery has been due: how far the dispatchers are behind."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return o, nil
}

// AttemptFinished implements webhook.Observer. A Dispatcher calls
// AttemptRecorded instead; this reports the attempt without its endpoint.
func (o *Observer) AttemptFinished(d *webhook.Delivery, a *webhook.Attempt) {
	o.AttemptRecorded(d, a, "")
}

// AttemptRecorded implements webhook.AttemptObserver: it counts the
// attempt, records its duration, and makes its span.
func (o *Observer) AttemptRecorded(d *webhook.Delivery, a *webhook.Attempt, rawURL string) {
	ep := o.endpoint(rawURL)
	ctx := context.Background()
	m := o.attemptMeasurement(d, a, ep)
	o.attempts.Add(ctx, 1, m.add...)
	o.attemptDuration.Record(ctx, a.Duration.Seconds(), m.record...)
	if !o.traced {
		return
	}

	_, span := o.tracer.Start(ctx, http.MethodPost, clientSpan, trace.WithTimestamp(a.StartedAt))
	if !span.IsRecording() {
		// Not sampled: the link and the attributes would be built for
		// nothing. (Added after the start, they are not seen by the
		// sampler, which decides on the trace id.)
		span.End()
		return
	}
	if sc := o.publisher(d.TraceContext); sc.IsValid() {
		span.AddLink(trace.Link{SpanContext: sc})
	}
	// Built on the stack, then handed over as a copy of its length: the
	// span's methods are called through an interface, so whatever slice
	// they are given is allocated, and buf would be allocated whole.
	var buf [16]attribute.KeyValue
	attrs := append(buf[:0],
		EventTypeKey.String(string(d.EventType)),
		semconv.HTTPRequestMethodPost,
		EventIDKey.String(d.EventID),
		DeliveryIDKey.String(d.ID),
		SubscriptionIDKey.String(d.SubscriptionID),
		AttemptNumberKey.Int(a.Number),
	)
	if ep != nil {
		attrs = append(attrs, ep.address, ep.port, ep.url)
	}
	if a.Number > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(a.Number-1))
	}
	if a.StatusCode > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(a.StatusCode))
	}
	if m.errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(m.errType), ErrorClassKey.String(string(a.ErrorClass)))
		span.SetStatus(codes.Error, a.Error)
	}
	span.SetAttributes(slices.Clone(attrs)...)
	span.End(trace.WithTimestamp(a.StartedAt.Add(a.Duration)))
}

// clientSpan is the kind of the attempt spans, as an option made once.
var clientSpan = trace.WithSpanKind(trace.SpanKindClient)

// measurement is the attributes of a data point, ready to pass to Add and
// Record: built once per attribute set, since building one (sorting and
// hashing the attributes) costs more than recording the value.
type measurement struct {
	add     []metric.AddOption
	record  []metric.RecordOption
	errType string // error.type, for the span
}

func newMeasurement(errType string, attrs ...attribute.KeyValue) *measurement {
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return &measurement{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}, errType: errType}
}

// attemptKey identifies the attribute set of an attempt's data points.
type attemptKey struct {
	eventType    webhook.EventType
	endpoint     *endpointInfo
	status       int
	class        webhook.ErrorClass
	subscription string // with Config.SubscriptionMetrics
}

// attemptMeasurement returns the attributes of an attempt's data points.
func (o *Observer) attemptMeasurement(d *webhook.Delivery, a *webhook.Attempt, ep *endpointInfo) *measurement {
	k := attemptKey{eventType: d.EventType, endpoint: ep, status: a.StatusCode, class: a.ErrorClass}
	if o.cfg.SubscriptionMetrics {
		k.subscription = d.SubscriptionID
	}
	return o.attemptSets.get(k, func() *measurement {
		errType := attemptErrorType(a)
		attrs := []attribute.KeyValue{EventTypeKey.String(string(d.EventType))}
		if ep != nil {
			attrs = append(attrs, ep.address, ep.port)
		}
		if a.StatusCode > 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(a.StatusCode))
		}
		if errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
		}
		if k.subscription != "" {
			attrs = append(attrs, SubscriptionIDKey.String(k.subscription))
		}
		return newMeasurement(errType, attrs...)
	})
}

// maxCached bounds each cache of the Observer, so that churning
// subscription URLs (or, with Config.SubscriptionMetrics, subscriptions)
// cannot grow it without end: past it, values are computed at each use.
const maxCached = 100_000

// readMostly is a cache of values computed once per key and read, at
// every attempt, by all of a Dispatcher's recorders at once. A hit reads
// an immutable snapshot without taking a lock (a lock word written by
// every reader bounces between the cores). A miss takes mu, and keeps the
// new value in dirty until the locked lookups since the last snapshot
// have cost as much as copying every entry into a new one. The zero value
// is an empty cache.
type readMostly[K comparable, V any] struct {
	read atomic.Pointer[map[K]V] // never written once stored

	mu     sync.Mutex
	dirty  map[K]V // values not in read yet
	size   int     // entries in read and dirty, at most maxCached
	misses int     // locked lookups since read was stored
}

// get returns the value of k, computing it with compute on a miss and
// keeping it unless the cache holds maxCached entries already.
func (c *readMostly[K, V]) get(k K, compute func() V) V {
	if v, ok := c.load(k); ok {
		return v
	}
	c.mu.Lock()
	v, ok := c.lookLocked(k)
	if !ok {
		// Computed outside the lock: past maxCached, every lookup of a
		// key not kept computes.
		c.mu.Unlock()
		v = compute()
		c.mu.Lock()
		if old, ok := c.lookLocked(k); ok {
			v = old
		} else if c.size < maxCached {
			if c.dirty == nil {
				c.dirty = make(map[K]V)
			}
			c.dirty[k] = v
			c.size++
		}
	}
	c.misses++
	if len(c.dirty) > 0 && c.misses >= c.size {
		next := make(map[K]V, c.size)
		if r := c.read.Load(); r != nil {
			maps.Copy(next, *r)
		}
		maps.Copy(next, c.dirty)
		c.read.Store(&next)
		c.dirty, c.misses = nil, 0
	}
	c.mu.Unlock()
	return v
}

// lookLocked returns the value of k in dirty or the snapshot. c.mu is
// held.
func (c *readMostly[K, V]) lookLocked(k K) (V, bool) {
	if v, ok := c.dirty[k]; ok {
		return v, true
	}
	return c.load(k)
}

// load returns the value of k in the snapshot.
func (c *readMostly[K, V]) load(k K) (V, bool) {
	if r := c.read.Load(); r != nil {
		v, ok := (*r)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// attemptErrorType is the error.type of a failed attempt, "" for a
// success: the status code for a status failure, as the semantic
// conventions have it for HTTP, and the webhook.ErrorClass otherwise
// ("timeout", "connection", "blocked", "other").
func attemptErrorType(a *webhook.Attempt) string {
	switch {
	case a.ErrorClass == "":
		return ""
	case a.ErrorClass == webhook.ErrorClassStatus && a.StatusCode > 0:
		return strconv.Itoa(a.StatusCode)
	}
	return string(a.ErrorClass)
}

// deliveryKey identifies the attribute set of a delivery's data points.
type deliveryKey struct {
	eventType webhook.EventType
	state     webhook.DeliveryState
}

// DeliveryStateChanged implements webhook.Observer: it counts the
// delivery that ended and records how long it took.
func (o *Observer) DeliveryStateChanged(d *webhook.Delivery) {
	m := o.deliverySets.get(deliveryKey{d.EventType, d.State}, func() *measurement {
		return newMeasurement("", EventTypeKey.String(string(d.EventType)), DeliveryStateKey.String(string(d.State)))
	})
	ctx := context.Background()
	o.deliveries.Add(ctx, 1, m.add...)
	o.deliveryDuration.Record(ctx, max(d.UpdatedAt.Sub(d.CreatedAt), 0).Seconds(), m.record...)
}

// SubscriptionDisabled implements webhook.DisableObserver: it counts the
// disabling by reason, "gone" or "failing".
func (o *Observer) SubscriptionDisabled(sub *webhook.Subscription, reason string) {
	r := "failing"
	if reason == webhook.DisabledGone {
		r = "gone"
	}
	o.disabled.Add(context.Background(), 1, metric.WithAttributes(DisableReasonKey.String(r)))
}

// TraceContext implements webhook.TraceObserver: it encodes the span
// context of ctx with Config.Propagator, or returns "" when ctx has no
// valid span context. Set it as pgstore's Config.TraceContext too, so
// that PublishTx keeps it as Publish does.
func (o *Observer) TraceContext(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	var c encoder
	o.cfg.Propagator.Inject(ctx, &c)
	return c.String()
}

// InjectHeaders implements webhook.HeaderInjector: with
// Config.PropagateToEndpoints, it adds the headers of the trace context
// stored with d (the Publish call's) to the attempt. Otherwise it adds
// nothing.
func (o *Observer) InjectHeaders(d *webhook.Delivery, h http.Header) {
	if !o.cfg.PropagateToEndpoints || d.TraceContext == "" {
		return
	}
	c := decoder(d.TraceContext)
	for _, k := range c.Keys() {
		h.Set(k, c.Get(k))
	}
}

// publisher returns the span context stored as tc, invalid when there is
// none. A traceparent alone, what the default propagator stores, is
// decoded here: Extract would put the span context in a context only to
// take it out again, at three allocations a span.
func (o *Observer) publisher(tc string) trace.SpanContext {
	if tc == "" {
		return trace.SpanContext{}
	}
	if o.w3c && !strings.Contains(tc, "=") {
		return parseTraceparent(tc)
	}
	ctx := o.cfg.Propagator.Extract(context.Background(), decoder(tc))
	return trace.SpanContextFromContext(ctx)
}

// parseTraceparent returns the remote span context of a W3C traceparent,
// invalid if h is not one. It accepts what propagation.TraceContext's
// Extract accepts: a version other than ff, further fields only past
// version 00, and lower-case hex digits only.
func parseTraceparent(h string) trace.SpanContext {
	ver, h, _ := strings.Cut(h, "-")
	tid, h, _ := strings.Cut(h, "-")
	sid, h, _ := strings.Cut(h, "-")
	flags, h, _ := strings.Cut(h, "-")
	v, ok1 := hexByte(ver)
	f, ok2 := hexByte(flags)
	if !ok1 || !ok2 || v == 0xff || v == 0 && (h != "" || f > 3) {
		return trace.SpanContext{}
	}
	var scc trace.SpanContextConfig
	var err1, err2 error
	scc.TraceID, err1 = trace.TraceIDFromHex(tid)
	scc.SpanID, err2 = trace.SpanIDFromHex(sid)
	if err1 != nil || err2 != nil {
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(f) & (trace.FlagsSampled | trace.FlagsRandom)
	scc.Remote = true
	return trace.NewSpanContext(scc)
}

// hexByte decodes two lower-case hex digits, as the W3C trace context
// writes them.
func hexByte(s string) (byte, bool) {
	if len(s) != 2 {
		return 0, false
	}
	hi, ok1 := hexDigit(s[0])
	lo, ok2 := hexDigit(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// traceparent is the header of the W3C trace context.
const traceparent = "traceparent"

// encoder is a propagation.TextMapCarrier that encodes what a propagator
// injects into it as a string: the value alone when the propagator set
// only traceparent (the usual case, and the smallest to store), else a URL
// query of every field, able to hold whatever a propagator sets. A
// traceparent holds no '=', a query always does: decoder tells them apart.
type encoder struct {
	keys, values []string
}

func (c *encoder) Get(key string) string {
	for i, k := range c.keys {
		if k == key {
			return c.values[i]
		}
	}
	return ""
}

func (c *encoder) Set(key, value string) {
	for i, k := range c.keys {
		if k == key {
			c.values[i] = value
			return
		}
	}
	c.keys, c.values = append(c.keys, key), append(c.values, value)
}

func (c *encoder) Keys() []string { return c.keys }

func (c *encoder) String() string {
	if len(c.keys) == 1 && c.keys[0] == traceparent && !strings.Contains(c.values[0], "=") {
		return c.values[0]
	}
	v := make(url.Values, len(c.keys))
	for i, k := range c.keys {
		v.Set(k, c.values[i])
	}
	return v.Encode()
}

// decoder is a propagation.TextMapCarrier reading what encoder wrote. A
// malformed string yields what could be read of it.
type decoder string

func (s decoder) Get(key string) string {
	if !strings.Contains(string(s), "=") {
		if key == traceparent {
			return string(s)
		}
		return ""
	}
	v, _ := url.ParseQuery(string(s))
	return v.Get(key)
}

func (s decoder) Set(string, string) {}

func (s decoder) Keys() []string {
	if !strings.Contains(string(s), "=") {
		return []string{traceparent}
	}
	v, _ := url.ParseQuery(string(s))
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	return keys
}

// endpointInfo is the attributes of an endpoint URL.
type endpointInfo struct {
	address, port, url attribute.KeyValue // server.address, server.port, url.full (redacted)
}

// endpoint returns the attributes of rawURL, nil when it is empty or does
// not parse. They are cached: a Dispatcher sends many attempts to few
// URLs.
func (o *Observer) endpoint(rawURL string) *endpointInfo {
	if rawURL == "" {
		return nil
	}
	return o.endpoints.get(rawURL, func() *endpointInfo {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return nil
		}
		port := u.Port()
		if port == "" {
			port = "443"
			if u.Scheme == "http" {
				port = "80"
			}
		}
		p, _ := strconv.Atoi(port)
		return &endpointInfo{
			address: semconv.ServerAddress(u.Hostname()),
			port:    semconv.ServerPort(p),
			url:     semconv.URLFull(webhook.RedactURL(rawURL)),
		}
	})
}

// queueStatsTimeout bounds one QueueStats call of a collection.
const queueStatsTimeout = 5 * time.Second

// ObserveQueue registers the gauges of store's queue (webhook.queue.*),
// read with QueueStats at each collection, with attrs added to each (to
// tell several stores apart). Unregister the returned registration to
// stop. A QueueStats error is reported to OpenTelemetry's error handler
// and the collection goes on without these gauges.
func (o *Observer) ObserveQueue(store webhook.QueueStatsStore, attrs ...attribute.KeyValue) (metric.Registration, error) {
	base := attribute.NewSet(attrs...)
	withState := func(state string) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(base.ToSlice(), DeliveryStateKey.String(state))...))
	}
	pending, delivering, held := withState("pending"), withState("delivering"), withState("held")
	plain := metric.WithAttributeSet(base)
	return o.meter.RegisterCallback(func(ctx context.Context, m metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, queueStatsTimeout)
		defer cancel()
		st, err := store.QueueStats(ctx)
		if err != nil {
			return err
		}
		now := o.now()
		m.ObserveInt64(o.queueDeliveries, st.Pending, pending)
		m.ObserveInt64(o.queueDeliveries, st.Delivering, delivering)
		m.ObserveInt64(o.queueDeliveries, st.Held, held)
		m.ObserveFloat64(o.queueOldest, since(now, st.OldestCreatedAt), plain)
		m.ObserveFloat64(o.queueLag, since(now, st.NextDueAt), plain)
		return nil
	}, o.queueDeliveries, o.queueOldest, o.queueLag)
}

// since returns how many seconds before now t was, 0 for the zero time or
// a time not yet passed.
func since(now, t time.Time) float64 {
	if t.IsZero() || !now.After(t) {
		return 0
	}
	return now.Sub(t).Seconds()
}
