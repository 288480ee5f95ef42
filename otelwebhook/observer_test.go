package otelwebhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/otelwebhook"
)

const waitTimeout = 10 * time.Second

// signalling is an otelwebhook.Observer that also reports each delivery
// that ended, so that tests wait for them rather than sleep. Embedding
// keeps every optional interface the Observer implements.
type signalling struct {
	*otelwebhook.Observer
	ended chan webhook.Delivery
}

func (s *signalling) DeliveryStateChanged(d *webhook.Delivery) {
	s.Observer.DeliveryStateChanged(d)
	s.ended <- *d
}

// waitEnded waits for the next delivery of a non-ping event to end.
func (s *signalling) waitEnded(t *testing.T) webhook.Delivery {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case d := <-s.ended:
			if d.EventType != webhook.EventPing {
				return d
			}
		case <-timeout:
			require.FailNow(t, "timed out waiting for a delivery to end")
		}
	}
}

// endpoint is an httptest server whose n-th event request (pings are
// answered 200) is answered with status(n), recording their headers.
type endpoint struct {
	*httptest.Server
	mu      sync.Mutex
	n       int
	headers []http.Header
	port    int
}

func newEndpoint(t *testing.T, status func(n int) int) *endpoint {
	t.Helper()
	ep := &endpoint{}
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			return
		}
		ep.mu.Lock()
		ep.n++
		n := ep.n
		ep.headers = append(ep.headers, r.Header.Clone())
		ep.mu.Unlock()
		w.WriteHeader(status(n))
	}))
	t.Cleanup(ep.Close)
	u, err := url.Parse(ep.URL)
	require.NoError(t, err)
	ep.port, err = strconv.Atoi(u.Port())
	require.NoError(t, err)
	return ep
}

func (ep *endpoint) requestHeaders() []http.Header {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]http.Header(nil), ep.headers...)
}

// sender is a Dispatcher over a MemoryStore reporting through an
// otelwebhook.Observer to tm.
type sender struct {
	tm    *telemetry
	obs   *signalling
	store *webhook.MemoryStore
	d     *webhook.Dispatcher
}

func newSender(t *testing.T, edit func(*otelwebhook.Config)) *sender {
	t.Helper()
	tm := newTelemetry(t)
	cfg := tm.config()
	if edit != nil {
		edit(cfg)
	}
	o, err := otelwebhook.NewObserver(cfg)
	require.NoError(t, err)
	s := &sender{tm: tm, obs: &signalling{Observer: o, ended: make(chan webhook.Delivery, 64)}, store: webhook.NewMemoryStore()}
	s.d, err = webhook.NewDispatcher(s.store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RetryPolicy: webhook.ExponentialRetry{InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond,
			Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Second},
		PollInterval: 20 * time.Millisecond,
		Observer:     s.obs,
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return s
}

func (s *sender) start(t *testing.T) {
	t.Helper()
	require.NoError(t, s.d.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = s.d.Close(ctx)
	})
}

func (s *sender) subscribe(t *testing.T, url string) *webhook.Subscription {
	t.Helper()
	sub, err := s.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: url, EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	return sub
}

// publish publishes a task.updated event of org_1 inside a span of its
// own, which it returns.
func (s *sender) publish(t *testing.T) trace.SpanContext {
	t.Helper()
	ctx, span := s.tm.tracer().Start(context.Background(), "update task")
	defer span.End()
	require.NoError(t, s.d.Publish(ctx, webhook.Event{
		Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1",
		Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`),
	}))
	return span.SpanContext()
}

// attemptSpans returns the attempt spans of delivery id, oldest first.
func (s *sender) attemptSpans(id string) []sdktrace.ReadOnlySpan {
	return s.tm.ended(hasAttr(otelwebhook.DeliveryIDKey.String(id)))
}

func TestObserverSuccess(t *testing.T) {
	t.Parallel()
	s := newSender(t, nil)
	ep := newEndpoint(t, func(int) int { return http.StatusNoContent })
	sub := s.subscribe(t, ep.URL+"/hooks/secret-token")
	s.start(t)
	published := s.publish(t)
	d := s.obs.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)

	m := s.tm.collect(t)
	typ := otelwebhook.EventTypeKey.String("task.updated")
	host, port := semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(ep.port)
	m.requireSum(t, 1, "webhook.deliveries", typ, otelwebhook.DeliveryStateKey.String("succeeded"))
	m.requireSum(t, 1, "webhook.attempts", typ, host, port, semconv.HTTPResponseStatusCode(204))
	attempt := m.histogram(t, "webhook.attempt.duration", typ, host, port, semconv.HTTPResponseStatusCode(204))
	require.EqualValues(t, 1, attempt.Count)
	require.Positive(t, attempt.Sum, "the attempt's duration is recorded")
	require.EqualValues(t, 1, m.histogram(t, "webhook.delivery.duration", typ, otelwebhook.DeliveryStateKey.String("succeeded")).Count)
	_, failed := m.sum(t, "webhook.deliveries", typ, otelwebhook.DeliveryStateKey.String("failed"))
	require.False(t, failed)

	spans := s.attemptSpans(d.ID)
	require.Len(t, spans, 1)
	span := spans[0]
	require.Equal(t, "POST", span.Name())
	require.Equal(t, trace.SpanKindClient, span.SpanKind())
	require.Equal(t, codes.Unset, span.Status().Code)
	a := attrs(span)
	require.Equal(t, "task.updated", a[otelwebhook.EventTypeKey].AsString())
	require.Equal(t, d.EventID, a[otelwebhook.EventIDKey].AsString())
	require.Equal(t, sub.ID, a[otelwebhook.SubscriptionIDKey].AsString())
	require.EqualValues(t, 1, a[otelwebhook.AttemptNumberKey].AsInt64())
	require.EqualValues(t, 204, a[semconv.HTTPResponseStatusCodeKey].AsInt64())
	require.Equal(t, "POST", a[semconv.HTTPRequestMethodKey].AsString())
	require.Equal(t, "127.0.0.1", a[semconv.ServerAddressKey].AsString())
	require.EqualValues(t, ep.port, a[semconv.ServerPortKey].AsInt64())
	require.Equal(t, ep.URL+"/[REDACTED]", a[semconv.URLFullKey].AsString(), "the URL is redacted as in logs")
	_, resent := a[semconv.HTTPRequestResendCountKey]
	require.False(t, resent, "a first attempt is not a resend")
	_, errType := a[semconv.ErrorTypeKey]
	require.False(t, errType)

	require.Len(t, span.Links(), 1, "the attempt links to the span that published the event")
	require.Equal(t, published.TraceID(), span.Links()[0].SpanContext.TraceID())
	require.Equal(t, published.SpanID(), span.Links()[0].SpanContext.SpanID())
	require.NotEqual(t, published.TraceID(), span.SpanContext().TraceID(), "the attempt is a trace of its own")
	require.False(t, span.Parent().IsValid())

	for _, h := range ep.requestHeaders() {
		require.Empty(t, h.Get("Traceparent"), "no trace context is sent to endpoints by default")
		require.Empty(t, h.Get("Tracestate"))
	}
}

func TestObserverRetriedFailure(t *testing.T) {
	t.Parallel()
	s := newSender(t, nil)
	ep := newEndpoint(t, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s.subscribe(t, ep.URL)
	s.start(t)
	published := s.publish(t)
	d := s.obs.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)
	require.Equal(t, 2, d.AttemptCount)

	m := s.tm.collect(t)
	typ := otelwebhook.EventTypeKey.String("task.updated")
	host, port := semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(ep.port)
	m.requireSum(t, 1, "webhook.attempts", typ, host, port, semconv.HTTPResponseStatusCode(503), semconv.ErrorTypeKey.String("503"))
	m.requireSum(t, 1, "webhook.attempts", typ, host, port, semconv.HTTPResponseStatusCode(200))
	m.requireSum(t, 1, "webhook.deliveries", typ, otelwebhook.DeliveryStateKey.String("succeeded"))
	require.EqualValues(t, 1, m.histogram(t, "webhook.attempt.duration",
		typ, host, port, semconv.HTTPResponseStatusCode(503), semconv.ErrorTypeKey.String("503")).Count)

	spans := s.attemptSpans(d.ID)
	require.Len(t, spans, 2)
	first, second := spans[0], spans[1]
	require.Equal(t, codes.Error, first.Status().Code)
	require.Contains(t, first.Status().Description, "503")
	a := attrs(first)
	require.Equal(t, "503", a[semconv.ErrorTypeKey].AsString())
	require.Equal(t, "status", a[otelwebhook.ErrorClassKey].AsString())
	require.EqualValues(t, 1, a[otelwebhook.AttemptNumberKey].AsInt64())
	a = attrs(second)
	require.EqualValues(t, 2, a[otelwebhook.AttemptNumberKey].AsInt64())
	require.EqualValues(t, 1, a[semconv.HTTPRequestResendCountKey].AsInt64())
	require.Equal(t, codes.Unset, second.Status().Code)
	require.False(t, second.StartTime().Before(first.EndTime()), "the retry starts after the first attempt ended")
	for _, sp := range spans {
		require.Len(t, sp.Links(), 1)
		require.Equal(t, published.SpanID(), sp.Links()[0].SpanContext.SpanID(), "every attempt links to the publisher")
	}
}

func TestObserverConnectionFailure(t *testing.T) {
	t.Parallel()
	s := newSender(t, nil)
	ep := newEndpoint(t, func(int) int { return http.StatusOK })
	s.subscribe(t, ep.URL)
	ep.Close() // nothing listens any more: connection refused
	s.start(t)
	s.publish(t)
	d := s.obs.waitEnded(t)
	require.Equal(t, webhook.StateFailed, d.State)

	m := s.tm.collect(t)
	typ := otelwebhook.EventTypeKey.String("task.updated")
	got, ok := m.sum(t, "webhook.attempts", typ, semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(ep.port),
		semconv.ErrorTypeKey.String("connection"))
	require.True(t, ok, "attempts by error class: %v", m.pointsOf("webhook.attempts"))
	require.EqualValues(t, d.AttemptCount, got)
	m.requireSum(t, 1, "webhook.deliveries", typ, otelwebhook.DeliveryStateKey.String("failed"))
}

func TestObserverGoneDisables(t *testing.T) {
	t.Parallel()
	s := newSender(t, nil)
	ep := newEndpoint(t, func(int) int { return http.StatusGone })
	sub := s.subscribe(t, ep.URL)
	s.start(t)
	s.publish(t)
	d := s.obs.waitEnded(t)
	require.Equal(t, webhook.StateFailed, d.State)

	m := s.tm.collect(t)
	typ := otelwebhook.EventTypeKey.String("task.updated")
	m.requireSum(t, 1, "webhook.subscriptions.disabled", otelwebhook.DisableReasonKey.String("gone"))
	m.requireSum(t, 1, "webhook.deliveries", typ, otelwebhook.DeliveryStateKey.String("failed"))
	m.requireSum(t, 1, "webhook.attempts", typ, semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(ep.port),
		semconv.HTTPResponseStatusCode(410), semconv.ErrorTypeKey.String("410"))

	spans := s.attemptSpans(d.ID)
	require.Len(t, spans, 1, "410 is not retried")
	require.Equal(t, codes.Error, spans[0].Status().Code)
	require.Equal(t, sub.ID, attrs(spans[0])[otelwebhook.SubscriptionIDKey].AsString())
	stored, err := s.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.True(t, stored.Disabled)
}

func TestObserverPropagateToEndpoints(t *testing.T) {
	t.Parallel()
	s := newSender(t, func(c *otelwebhook.Config) { c.PropagateToEndpoints = true })
	ep := newEndpoint(t, func(int) int { return http.StatusOK })
	s.subscribe(t, ep.URL)
	s.start(t)
	published := s.publish(t)
	s.obs.waitEnded(t)

	headers := ep.requestHeaders()
	require.Len(t, headers, 1)
	want := "00-" + published.TraceID().String() + "-" + published.SpanID().String() + "-01"
	require.Equal(t, want, headers[0].Get("Traceparent"))
}

func TestObserverSubscriptionMetrics(t *testing.T) {
	t.Parallel()
	s := newSender(t, func(c *otelwebhook.Config) { c.SubscriptionMetrics = true })
	ep := newEndpoint(t, func(int) int { return http.StatusOK })
	sub := s.subscribe(t, ep.URL)
	s.start(t)
	s.publish(t)
	s.obs.waitEnded(t)

	s.tm.collect(t).requireSum(t, 1, "webhook.attempts", otelwebhook.EventTypeKey.String("task.updated"),
		semconv.ServerAddress("127.0.0.1"), semconv.ServerPort(ep.port), semconv.HTTPResponseStatusCode(200),
		otelwebhook.SubscriptionIDKey.String(sub.ID))
}

func TestObserverQueueGauges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	s := newSender(t, func(c *otelwebhook.Config) { c.Now = func() time.Time { return now } })
	ep := newEndpoint(t, func(int) int { return http.StatusOK })
	s.subscribe(t, ep.URL) // its ping waits too: the dispatcher is not started
	other := s.subscribe(t, ep.URL+"/other")
	s.publish(t) // two deliveries, one per subscription
	ctx := context.Background()
	other.Disabled = true
	require.NoError(t, s.store.UpdateSubscription(ctx, other))

	reg, err := s.obs.ObserveQueue(s.store, attribute.String("webhook.store", "memory"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })
	stats, err := s.store.QueueStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, stats.Pending, "the event's delivery to sub and its ping")
	now = stats.OldestCreatedAt.Add(90 * time.Second)

	m := s.tm.collect(t)
	store := attribute.String("webhook.store", "memory")
	state := otelwebhook.DeliveryStateKey.String
	m.requireSum(t, 2, "webhook.queue.deliveries", store, state("pending"))
	m.requireSum(t, 0, "webhook.queue.deliveries", store, state("delivering"))
	m.requireSum(t, 2, "webhook.queue.deliveries", store, state("held"))
	require.InDelta(t, 90, m.gauge(t, "webhook.queue.oldest.age", store), 1e-9)
	require.InDelta(t, now.Sub(stats.NextDueAt).Seconds(), m.gauge(t, "webhook.queue.lag", store), 1e-9)

	require.NoError(t, reg.Unregister())
	_, ok := s.tm.collect(t)["webhook.queue.deliveries"]
	require.False(t, ok, "no gauges once unregistered")
}

func TestObserverDisableReasons(t *testing.T) {
	t.Parallel()
	tm := newTelemetry(t)
	o, err := otelwebhook.NewObserver(tm.config())
	require.NoError(t, err)
	sub := &webhook.Subscription{ID: "sub_1", OrganizationID: "org_1"}
	o.SubscriptionDisabled(sub, webhook.DisabledGone)
	o.SubscriptionDisabled(sub, "no successful delivery since 2026-06-22T09:00:00Z (failing for 120h0m0s or more)")
	o.SubscriptionDisabled(sub, "no successful delivery since 2026-06-23T09:00:00Z (failing for 120h0m0s or more)")

	m := tm.collect(t)
	m.requireSum(t, 1, "webhook.subscriptions.disabled", otelwebhook.DisableReasonKey.String("gone"))
	m.requireSum(t, 2, "webhook.subscriptions.disabled", otelwebhook.DisableReasonKey.String("failing"))
}
