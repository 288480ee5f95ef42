package otelwebhook_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

const secret webhook.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// envelope is a task.updated delivery with delivery id id.
func envelope(id string) []byte {
	return []byte(`{"delivery_id":"` + id + `","event_id":"evt_1","event":"task.updated",` +
		`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_1","data":{"task":{"id":"task_1"}}}`)
}

// signed returns a POST of envelope(id) signed with key, as a Dispatcher
// sends it.
func signed(t *testing.T, id string, key webhook.Secret) *http.Request {
	t.Helper()
	body := envelope(id)
	r := httptest.NewRequest(http.MethodPost, "/webhooks", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	require.NoError(t, webhook.Signer{}.SignRequest(r.Header, []webhook.Secret{key}, id, webhook.EventTaskUpdated, time.Now(), body))
	return r
}

// newReceiver returns a ReceiverObserver reporting to a new telemetry, and
// a Receiver using it.
func newReceiver(t *testing.T) (*telemetry, *otelwebhook.ReceiverObserver, *webhook.Receiver) {
	t.Helper()
	tm := newTelemetry(t)
	obs, err := otelwebhook.NewReceiverObserver(tm.config())
	require.NoError(t, err)
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret}, Observer: obs, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return tm, obs, rv
}

func serve(h http.Handler, r *http.Request) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}

// serverSpans returns the server spans that ended.
func serverSpans(tm *telemetry) []sdktrace.ReadOnlySpan {
	return tm.ended(func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindServer })
}

// eventNamed returns the attributes of the event of s named name.
func eventNamed(t *testing.T, s sdktrace.ReadOnlySpan, name string) map[attribute.Key]attribute.Value {
	t.Helper()
	for _, e := range s.Events() {
		if e.Name == name {
			out := make(map[attribute.Key]attribute.Value)
			for _, kv := range e.Attributes {
				out[kv.Key] = kv.Value
			}
			return out
		}
	}
	require.FailNow(t, "no span event "+name)
	return nil
}

func TestReceiverObserverUnauthorized(t *testing.T) {
	t.Parallel()
	tm, obs, rv := newReceiver(t)
	called := false
	h := obs.Middleware(rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		called = true
		return nil
	}))))

	require.Equal(t, http.StatusUnauthorized, serve(h, signed(t, "dlv_1", "whsec_dGhpcyBpcyBhbm90aGVyIHRlc3Qgc2VjcmV0IQ==")))
	noSig := signed(t, "dlv_2", secret)
	noSig.Header.Del(webhook.DefaultSignatureHeader)
	require.Equal(t, http.StatusUnauthorized, serve(h, noSig))
	require.False(t, called)

	m := tm.collect(t)
	m.requireSum(t, 1, "webhook.receiver.rejections", semconv.HTTPResponseStatusCode(401), semconv.ErrorTypeKey.String("invalid_signature"))
	m.requireSum(t, 1, "webhook.receiver.rejections", semconv.HTTPResponseStatusCode(401), semconv.ErrorTypeKey.String("missing_signature"))

	spans := serverSpans(tm)
	require.Len(t, spans, 2)
	span := spans[0]
	require.Equal(t, "POST", span.Name())
	a := attrs(span)
	require.EqualValues(t, 401, a[semconv.HTTPResponseStatusCodeKey].AsInt64())
	require.Equal(t, "POST", a[semconv.HTTPRequestMethodKey].AsString())
	require.Equal(t, "/webhooks", a[semconv.URLPathKey].AsString())
	require.Equal(t, codes.Unset, span.Status().Code, "a 4xx is the client's error, not the server's")
	ev := eventNamed(t, span, "webhook.rejected")
	require.Equal(t, "invalid_signature", ev[semconv.ErrorTypeKey].AsString())
	require.EqualValues(t, 401, ev[semconv.HTTPResponseStatusCodeKey].AsInt64())
	require.Empty(t, tm.ended(func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindConsumer }),
		"no handler span for a rejected request")
}

func TestReceiverObserverDuplicate(t *testing.T) {
	t.Parallel()
	tm, obs, rv := newReceiver(t)
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	runs := 0
	h := obs.Middleware(rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(
		func(ctx context.Context, e *webhook.Event, _ []byte) error {
			runs++
			require.True(t, trace.SpanFromContext(ctx).SpanContext().IsValid(), "the handler runs inside its span")
			return nil
		})))))

	require.Equal(t, http.StatusNoContent, serve(h, signed(t, "dlv_dup", secret)))
	require.Equal(t, http.StatusOK, serve(h, signed(t, "dlv_dup", secret)), "the duplicate is acknowledged")
	require.Equal(t, 1, runs)

	typ := otelwebhook.EventTypeKey.String("task.updated")
	m := tm.collect(t)
	m.requireSum(t, 1, "webhook.receiver.duplicates", typ, otelwebhook.DedupeResultKey.String("done"))
	require.EqualValues(t, 1, m.histogram(t, "webhook.receiver.handler.duration", typ).Count)
	_, rejected := m["webhook.receiver.rejections"]
	require.False(t, rejected, "a duplicate is not a rejection")

	handlers := tm.ended(func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindConsumer })
	require.Len(t, handlers, 1)
	require.Equal(t, "process task.updated", handlers[0].Name())
	require.Equal(t, "dlv_dup", attrs(handlers[0])[otelwebhook.DeliveryIDKey].AsString())
	servers := serverSpans(tm)
	require.Len(t, servers, 2)
	require.Equal(t, servers[0].SpanContext().SpanID(), handlers[0].Parent().SpanID(), "the handler's span is the request's child")
	require.EqualValues(t, 200, attrs(servers[1])[semconv.HTTPResponseStatusCodeKey].AsInt64())
	require.Equal(t, "done", eventNamed(t, servers[1], "webhook.duplicate")[otelwebhook.DedupeResultKey].AsString())
	require.Equal(t, "dlv_dup", attrs(servers[1])[otelwebhook.DeliveryIDKey].AsString())
}

func TestReceiverObserverHandlerFailure(t *testing.T) {
	t.Parallel()
	tm, obs, rv := newReceiver(t)
	h := obs.Middleware(rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		return errors.New("database down")
	}))))
	require.Equal(t, http.StatusInternalServerError, serve(h, signed(t, "dlv_1", secret)))

	typ := otelwebhook.EventTypeKey.String("task.updated")
	errType := semconv.ErrorTypeKey.String("*errors.errorString")
	m := tm.collect(t)
	m.requireSum(t, 1, "webhook.receiver.handler.errors", typ, errType)
	require.EqualValues(t, 1, m.histogram(t, "webhook.receiver.handler.duration", typ, errType).Count)

	handlers := tm.ended(func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindConsumer })
	require.Len(t, handlers, 1)
	require.Equal(t, codes.Error, handlers[0].Status().Code)
	require.Equal(t, "database down", handlers[0].Status().Description)
	servers := serverSpans(tm)
	require.Len(t, servers, 1)
	require.Equal(t, codes.Error, servers[0].Status().Code, "a 5xx is the server's error")
	require.Equal(t, "500", attrs(servers[0])[semconv.ErrorTypeKey].AsString())
}

func TestReceiverObserverAsyncQueueFull(t *testing.T) {
	t.Parallel()
	tm, obs, rv := newReceiver(t)
	entered, release := make(chan string, 4), make(chan struct{})
	async, err := webhook.NewAsyncHandler(webhook.EventHandlerFunc(func(_ context.Context, e *webhook.Event, _ []byte) error {
		entered <- e.DeliveryID
		<-release
		return nil
	}), &webhook.AsyncConfig{QueueSize: 1, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	reg, err := obs.ObserveAsync(async, attribute.String("handler", "tasks"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })
	h := obs.Middleware(rv.Middleware(async))

	require.Equal(t, http.StatusAccepted, serve(h, signed(t, "dlv_a", secret)))
	select {
	case <-entered: // the worker holds dlv_a
	case <-time.After(waitTimeout):
		require.FailNow(t, "the worker did not take dlv_a")
	}
	require.Equal(t, http.StatusAccepted, serve(h, signed(t, "dlv_b", secret)), "dlv_b waits in the queue")
	require.Equal(t, http.StatusServiceUnavailable, serve(h, signed(t, "dlv_c", secret)), "the queue is full")

	handler := attribute.String("handler", "tasks")
	m := tm.collect(t)
	m.requireSum(t, 1, "webhook.receiver.rejections", semconv.HTTPResponseStatusCode(503), semconv.ErrorTypeKey.String("queue_full"))
	m.requireSum(t, 1, "webhook.receiver.async.queue.length", handler)
	m.requireSum(t, 1, "webhook.receiver.async.queue.limit", handler)
	full := serverSpans(tm)[2]
	require.EqualValues(t, 503, attrs(full)[semconv.HTTPResponseStatusCodeKey].AsInt64())
	require.Equal(t, "queue_full", eventNamed(t, full, "webhook.rejected")[semconv.ErrorTypeKey].AsString())

	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, async.Shutdown(ctx))
	m = tm.collect(t)
	m.requireSum(t, 0, "webhook.receiver.async.queue.length", handler)
	require.EqualValues(t, 2, m.histogram(t, "webhook.receiver.handler.duration", otelwebhook.EventTypeKey.String("task.updated")).Count,
		"both accepted events were handled, on the worker")
}

func TestReceiverMiddlewareLinksRemoteTrace(t *testing.T) {
	t.Parallel()
	tm, obs, rv := newReceiver(t)
	h := obs.Middleware(rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil }))))
	r := signed(t, "dlv_1", secret)
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	require.Equal(t, http.StatusNoContent, serve(h, r))

	servers := serverSpans(tm)
	require.Len(t, servers, 1)
	require.False(t, servers[0].Parent().IsValid(), "a sender's trace is not continued")
	require.Len(t, servers[0].Links(), 1)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", servers[0].Links()[0].SpanContext.TraceID().String())
}
