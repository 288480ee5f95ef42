package otelwebhook

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/onplana/webhook"
)

// ReceiverObserver turns what a webhook.Receiver, and the Idempotency and
// AsyncHandler behind it, do with each request into OpenTelemetry metrics
// and spans. Set it as webhook.ReceiverConfig.Observer; register an
// AsyncHandler's queue gauges with ObserveAsync. It is safe for concurrent
// use.
//
// Each run of the event handler is a consumer span, "process" and the
// event type, child of the request's span: wrap the receiver in
// Middleware, which makes an HTTP server span per request, or in the
// host's own HTTP instrumentation. Rejections and duplicates are events of
// the request's span.
//
// See the package documentation for the metrics.
type ReceiverObserver struct {
	cfg    Config
	tracer trace.Tracer
	meter  metric.Meter

	rejections      metric.Int64Counter
	duplicates      metric.Int64Counter
	handlerDuration metric.Float64Histogram
	handlerErrors   metric.Int64Counter
	asyncQueued     metric.Int64ObservableUpDownCounter
	asyncLimit      metric.Int64ObservableUpDownCounter
}

var _ webhook.ReceiverObserver = (*ReceiverObserver)(nil)

// NewReceiverObserver returns a ReceiverObserver reporting to cfg's
// providers; cfg may be nil. It returns an error if an instrument cannot be
// created.
func NewReceiverObserver(cfg *Config) (*ReceiverObserver, error) {
	c := cfg.withDefaults()
	o := &ReceiverObserver{cfg: c, tracer: c.tracer(), meter: c.meter()}
	m := o.meter
	var errs [6]error
	o.rejections, errs[0] = m.Int64Counter("webhook.receiver.rejections", metric.WithUnit("{request}"),
		metric.WithDescription("Requests answered without handling their event, by status and reason."))
	o.duplicates, errs[1] = m.Int64Counter("webhook.receiver.duplicates", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries received again and answered without running the handler."))
	o.handlerDuration, errs[2] = m.Float64Histogram("webhook.receiver.handler.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the event handler's runs, by event type and error type."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	o.handlerErrors, errs[3] = m.Int64Counter("webhook.receiver.handler.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Runs of the event handler that failed, by event type and error type."))
	o.asyncQueued, errs[4] = m.Int64ObservableUpDownCounter("webhook.receiver.async.queue.length", metric.WithUnit("{event}"),
		metric.WithDescription("Events accepted by an AsyncHandler and waiting for a worker."))
	o.asyncLimit, errs[5] = m.Int64ObservableUpDownCounter("webhook.receiver.async.queue.limit", metric.WithUnit("{event}"),
		metric.WithDescription("How many events an AsyncHandler's queue holds; beyond it requests are answered 503."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return o, nil
}

// RequestRejected implements webhook.ReceiverObserver: it counts the
// rejection and adds an event, "webhook.rejected", to the request's span.
func (o *ReceiverObserver) RequestRejected(r *http.Request, status int, reason webhook.RejectReason) {
	attrs := []attribute.KeyValue{semconv.HTTPResponseStatusCode(status), semconv.ErrorTypeKey.String(string(reason))}
	o.rejections.Add(r.Context(), 1, metric.WithAttributes(attrs...))
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.AddEvent("webhook.rejected", trace.WithAttributes(attrs...))
	}
}

// DuplicateDelivery implements webhook.ReceiverObserver: it counts the
// duplicate and adds an event, "webhook.duplicate", to the request's span.
func (o *ReceiverObserver) DuplicateDelivery(r *http.Request, e *webhook.Event, res webhook.ClaimResult) {
	result := "in_flight"
	if res == webhook.ClaimDone {
		result = "done"
	}
	o.duplicates.Add(r.Context(), 1, metric.WithAttributes(EventTypeKey.String(string(e.Type)), DedupeResultKey.String(result)))
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(eventAttributes(e)...)
		span.AddEvent("webhook.duplicate", trace.WithAttributes(DedupeResultKey.String(result)))
	}
}

// HandlerStarted implements webhook.ReceiverObserver: it starts the
// handler's span, a child of the request's.
func (o *ReceiverObserver) HandlerStarted(ctx context.Context, e *webhook.Event) context.Context {
	attrs := eventAttributes(e)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrs...)
	}
	ctx, _ = o.tracer.Start(ctx, "process "+string(e.Type),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return ctx
}

// HandlerFinished implements webhook.ReceiverObserver: it records the
// run's duration, counts a failure, and ends the handler's span.
func (o *ReceiverObserver) HandlerFinished(ctx context.Context, e *webhook.Event, elapsed time.Duration, err error) {
	span := trace.SpanFromContext(ctx)
	typ := EventTypeKey.String(string(e.Type))
	if err == nil {
		o.handlerDuration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(typ))
		span.End()
		return
	}
	errType := semconv.ErrorTypeKey.String(handlerErrorType(err))
	set := metric.WithAttributeSet(attribute.NewSet(typ, errType))
	o.handlerDuration.Record(ctx, elapsed.Seconds(), set)
	o.handlerErrors.Add(ctx, 1, set)
	span.SetAttributes(errType)
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.End()
}

// handlerErrorType is the error.type of a handler's failure: "permanent"
// (wrapped with webhook.Permanent: acknowledged, not retried), "panic",
// "aborted" (http.ErrAbortHandler), or else what the semantic conventions'
// ErrorType makes of it: the value of an ErrorType() string method in its
// chain, or its Go type.
func handlerErrorType(err error) string {
	var pe *webhook.PanicError
	var perm *webhook.PermanentError
	switch {
	case errors.As(err, &pe):
		return "panic"
	case errors.As(err, &perm):
		return "permanent"
	case errors.Is(err, http.ErrAbortHandler):
		return "aborted"
	}
	return semconv.ErrorType(err).Value.AsString()
}

// eventAttributes are the span attributes of a verified event.
func eventAttributes(e *webhook.Event) []attribute.KeyValue {
	return []attribute.KeyValue{
		EventTypeKey.String(string(e.Type)),
		EventIDKey.String(e.ID),
		DeliveryIDKey.String(e.DeliveryID),
		OrganizationIDKey.String(e.OrganizationID),
	}
}

// ObserveAsync registers the gauges of a's queue
// (webhook.receiver.async.queue.*), with attrs added to each (to tell
// several handlers apart). Unregister the returned registration to stop.
func (o *ReceiverObserver) ObserveAsync(a *webhook.AsyncHandler, attrs ...attribute.KeyValue) (metric.Registration, error) {
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return o.meter.RegisterCallback(func(_ context.Context, m metric.Observer) error {
		st := a.Stats()
		m.ObserveInt64(o.asyncQueued, int64(st.Queued), set)
		m.ObserveInt64(o.asyncLimit, int64(st.QueueSize), set)
		return nil
	}, o.asyncQueued, o.asyncLimit)
}

// Middleware returns next wrapped in an HTTP server span per request, as
// the semantic conventions describe it: named after the method, with the
// method, path, scheme, server address, user agent and response status,
// and an error status for 5xx answers. Wrap the Receiver's handler with it
// when the host has no HTTP instrumentation of its own (otelhttp, a
// framework's). A trace context in the request's headers (read with
// Config.Propagator) is linked, not continued: the request comes from
// another organization's sender, whose trace ids this service should not
// adopt.
func (o *ReceiverObserver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithNewRoot(),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(r.Method),
				semconv.URLPath(r.URL.Path),
				semconv.URLScheme(scheme(r)),
				semconv.ServerAddress(r.Host),
			),
		}
		if ua := r.UserAgent(); ua != "" {
			opts = append(opts, trace.WithAttributes(semconv.UserAgentOriginal(ua)))
		}
		remote := trace.SpanContextFromContext(o.cfg.Propagator.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
		if remote.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}))
		}
		ctx, span := o.tracer.Start(r.Context(), r.Method, opts...)
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
	})
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// statusWriter records the status written through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (the
// Receiver sets read deadlines through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
