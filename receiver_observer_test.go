package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// recordingReceiverObserver records what a ReceiverObserver is told.
type recordingReceiverObserver struct {
	mu         sync.Mutex
	rejected   []string // "status reason"
	duplicates []webhook.ClaimResult
	started    []string // delivery ids
	finished   []error
	rejections chan struct{} // a value per rejection
}

func newRecordingReceiverObserver() *recordingReceiverObserver {
	return &recordingReceiverObserver{rejections: make(chan struct{}, 100)}
}

// handlerCtxKey marks the context HandlerStarted returns.
type handlerCtxKey struct{}

func (o *recordingReceiverObserver) RequestRejected(r *http.Request, status int, reason webhook.RejectReason) {
	o.mu.Lock()
	o.rejected = append(o.rejected, http.StatusText(status)+" "+string(reason))
	o.mu.Unlock()
	o.rejections <- struct{}{}
}

func (o *recordingReceiverObserver) DuplicateDelivery(r *http.Request, e *webhook.Event, res webhook.ClaimResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.duplicates = append(o.duplicates, res)
}

func (o *recordingReceiverObserver) HandlerStarted(ctx context.Context, e *webhook.Event) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started = append(o.started, e.DeliveryID)
	return context.WithValue(ctx, handlerCtxKey{}, e.DeliveryID)
}

func (o *recordingReceiverObserver) HandlerFinished(ctx context.Context, e *webhook.Event, elapsed time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ctx.Value(handlerCtxKey{}) != e.DeliveryID {
		err = errors.New("HandlerFinished got another context than HandlerStarted returned")
	}
	o.finished = append(o.finished, err)
}

func (o *recordingReceiverObserver) snapshot() (rejected []string, duplicates []webhook.ClaimResult, started []string, finished []error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.rejected...), append([]webhook.ClaimResult(nil), o.duplicates...),
		append([]string(nil), o.started...), append([]error(nil), o.finished...)
}

var _ webhook.ReceiverObserver = (*recordingReceiverObserver)(nil)

func TestReceiverObserverRejections(t *testing.T) {
	t.Parallel()
	body := []byte(validEnvelope)
	tests := []struct {
		name string
		cfg  webhook.ReceiverConfig
		req  func(t *testing.T) *http.Request
		want string // status text and reason
	}{
		{
			name: "GET",
			req:  func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/hooks", nil) },
			want: "Method Not Allowed method_not_allowed",
		},
		{
			name: "no signature",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Del(webhook.DefaultSignatureHeader)
				return r
			},
			want: "Unauthorized missing_signature",
		},
		{
			name: "wrong secret",
			req:  func(t *testing.T) *http.Request { return signedRequest(t, "", body, receiverOtherSecret) },
			want: "Unauthorized invalid_signature",
		},
		{
			name: "Standard Webhooks timestamp outside the tolerance",
			cfg: webhook.ReceiverConfig{Scheme: webhook.SchemeStandard, Now: func() time.Time {
				return time.Now().Add(time.Hour)
			}},
			req:  func(t *testing.T) *http.Request { return signedRequest(t, webhook.SchemeStandard, body) },
			want: "Unauthorized timestamp",
		},
		{
			name: "too large",
			cfg:  webhook.ReceiverConfig{MaxBodyBytes: 10},
			req:  func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			want: "Request Entity Too Large too_large",
		},
		{
			name: "signed garbage",
			req:  func(t *testing.T) *http.Request { return signedRequest(t, "", []byte("{not json")) },
			want: "Bad Request malformed",
		},
		{
			name: "event header disagrees",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set(webhook.DefaultEventHeader, "task.deleted")
				return r
			},
			want: "Bad Request event_mismatch",
		},
		{
			name: "older than MaxEventAge",
			cfg: webhook.ReceiverConfig{MaxEventAge: time.Hour, Now: func() time.Time {
				return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
			}},
			req:  func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			want: "Bad Request too_old",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obs := newRecordingReceiverObserver()
			tt.cfg.Observer = obs
			tt.cfg.Logger = newReceiverTestLogger(io.Discard)
			rv := newReceiver(t, tt.cfg)
			rec := httptest.NewRecorder()
			rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil }))).ServeHTTP(rec, tt.req(t))

			rejected, duplicates, started, _ := obs.snapshot()
			require.Equal(t, []string{tt.want}, rejected)
			require.Equal(t, tt.want[:len(http.StatusText(rec.Code))], http.StatusText(rec.Code), "the reported status is the answer's")
			require.Empty(t, duplicates)
			require.Empty(t, started, "the handler did not run")
		})
	}
}

func TestReceiverObserverHandlerRuns(t *testing.T) {
	t.Parallel()
	obs := newRecordingReceiverObserver()
	failure := errors.New("database down")
	var seen []any
	rv := newReceiver(t, webhook.ReceiverConfig{Observer: obs, Logger: newReceiverTestLogger(io.Discard)})
	results := []func() error{
		func() error { return nil },
		func() error { return failure },
		func() error { panic("boom") },
		func() error { return webhook.Permanent(failure) },
	}
	n := 0
	h := rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, _ []byte) error {
		seen = append(seen, ctx.Value(handlerCtxKey{}))
		n++
		return results[n-1]()
	})))
	for range results {
		h.ServeHTTP(httptest.NewRecorder(), signedRequest(t, "", []byte(validEnvelope)))
	}

	_, _, started, finished := obs.snapshot()
	require.Equal(t, []string{"dlv_1", "dlv_1", "dlv_1", "dlv_1"}, started)
	require.Equal(t, []any{"dlv_1", "dlv_1", "dlv_1", "dlv_1"}, seen, "the handler runs under HandlerStarted's context")
	require.Len(t, finished, 4)
	require.NoError(t, finished[0])
	require.ErrorIs(t, finished[1], failure)
	var pe *webhook.PanicError
	require.ErrorAs(t, finished[2], &pe)
	require.Equal(t, "boom", pe.Value)
	require.ErrorIs(t, finished[3], failure)
	var perm *webhook.PermanentError
	require.ErrorAs(t, finished[3], &perm)
}

func TestReceiverObserverDuplicates(t *testing.T) {
	t.Parallel()
	obs := newRecordingReceiverObserver()
	logger := newReceiverTestLogger(io.Discard)
	rv := newReceiver(t, webhook.ReceiverConfig{Observer: obs, Logger: logger})
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{Logger: logger})
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	h := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		entered <- struct{}{}
		<-release
		return nil
	}))))
	send := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_dup")))
		return rec.Code
	}

	first := make(chan int, 1)
	go func() { first <- send() }()
	receiveWithin(t, entered, "the first request in the handler")
	require.Equal(t, http.StatusConflict, send(), "a duplicate while the first is processed")
	close(release)
	require.Equal(t, http.StatusNoContent, receiveWithin(t, first, "the first answer"))
	require.Equal(t, http.StatusOK, send(), "a duplicate after it was processed")

	rejected, duplicates, started, finished := obs.snapshot()
	require.Empty(t, rejected)
	require.Equal(t, []webhook.ClaimResult{webhook.ClaimInFlight, webhook.ClaimDone}, duplicates)
	require.Equal(t, []string{"dlv_dup"}, started, "the handler ran once")
	require.Equal(t, []error{nil}, finished)
}

func TestAsyncHandlerObserverQueueFull(t *testing.T) {
	t.Parallel()
	s := newAsyncSetup(t, webhook.AsyncConfig{QueueSize: 1, Workers: 1})
	obs := newRecordingReceiverObserver()
	idem, err := webhook.NewIdempotency(s.store, nil)
	require.NoError(t, err)
	s.handler = newReceiver(t, webhook.ReceiverConfig{Observer: obs, Logger: newReceiverTestLogger(io.Discard)}).
		Middleware(idem.Middleware(s.async))
	require.Equal(t, webhook.AsyncStats{Queued: 0, QueueSize: 1}, s.async.Stats())

	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_a").Code)
	receiveWithin(t, s.entered, "the worker taking dlv_a")
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_b").Code)
	require.Equal(t, webhook.AsyncStats{Queued: 1, QueueSize: 1}, s.async.Stats(), "dlv_b waits for the worker")
	require.Equal(t, http.StatusServiceUnavailable, s.send(t, "dlv_c").Code)

	rejected, _, _, _ := obs.snapshot()
	require.Equal(t, []string{"Service Unavailable queue_full"}, rejected)

	s.proceed <- nil // dlv_a
	receiveWithin(t, s.entered, "the worker taking dlv_b")
	require.Equal(t, webhook.AsyncStats{Queued: 0, QueueSize: 1}, s.async.Stats())
	s.proceed <- errors.New("failed") // dlv_b
	receiveWithin(t, s.failed, "OnError for dlv_b")
	s.shutdown(t)

	_, _, started, finished := obs.snapshot()
	require.Equal(t, []string{"dlv_a", "dlv_b"}, started, "handled on the worker")
	require.Len(t, finished, 2)
	require.NoError(t, finished[0])
	require.EqualError(t, finished[1], "failed")
}
