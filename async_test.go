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
	"go.uber.org/goleak"

	"github.com/onplana/webhook"
)

const asyncWaitLimit = 10 * time.Second

func receiveWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(asyncWaitLimit):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// asyncSetup is a receiver with idempotency in front of an AsyncHandler
// whose event handler reports each call and waits for permission to return.
type asyncSetup struct {
	async   *webhook.AsyncHandler
	store   *webhook.MemoryDedupeStore
	handler http.Handler
	entered chan *webhook.Event
	proceed chan error // what the handler returns; it blocks until told
	failed  chan error // OnError reports
}

func newAsyncSetup(t *testing.T, cfg webhook.AsyncConfig) *asyncSetup {
	t.Helper()
	s := &asyncSetup{
		store:   webhook.NewMemoryDedupeStore(0),
		entered: make(chan *webhook.Event, 100),
		proceed: make(chan error),
		failed:  make(chan error, 100),
	}
	logger := newReceiverTestLogger(io.Discard)
	cfg.Logger = logger
	cfg.OnError = func(ctx context.Context, e *webhook.Event, body []byte, err error) {
		s.failed <- err
	}
	var err error
	s.async, err = webhook.NewAsyncHandler(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		s.entered <- e
		select {
		case err := <-s.proceed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}), &cfg)
	require.NoError(t, err)
	idem, err := webhook.NewIdempotency(s.store, &webhook.IdempotencyConfig{Logger: logger})
	require.NoError(t, err)
	s.handler = newReceiver(t, webhook.ReceiverConfig{Logger: logger}).Middleware(idem.Middleware(s.async))
	return s
}

func (s *asyncSetup) send(t *testing.T, id string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, signedRequest(t, "", envelopeFor(id)))
	return rec
}

func (s *asyncSetup) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), asyncWaitLimit)
	defer cancel()
	require.NoError(t, s.async.Shutdown(ctx))
}

func TestAsyncAcceptsThenHandles(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 2})
	rec := s.send(t, "dlv_a")
	require.Equal(t, http.StatusAccepted, rec.Code, "answered before the handler ran")
	e := receiveWithin(t, s.entered, "the handler")
	require.Equal(t, "dlv_a", e.DeliveryID)

	// While it is queued or running, a duplicate is refused.
	require.Equal(t, http.StatusConflict, s.send(t, "dlv_a").Code)
	s.proceed <- nil
	s.shutdown(t)
	// Once handled, the claim is done: a duplicate is acknowledged, not run.
	require.Equal(t, http.StatusOK, s.send(t, "dlv_a").Code)
	require.Empty(t, s.entered)
}

func TestAsyncQueueFull(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 1, QueueSize: 1, RetryAfter: 5 * time.Second})
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_1").Code)
	receiveWithin(t, s.entered, "the first event") // the worker is busy
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_2").Code, "queued")

	rec := s.send(t, "dlv_3")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "5", rec.Header().Get("Retry-After"))

	// The refused delivery's claim was released, so the sender's retry is
	// accepted once there is room.
	s.proceed <- nil
	require.Equal(t, "dlv_2", receiveWithin(t, s.entered, "the second event").DeliveryID)
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_3").Code)
	s.proceed <- nil
	require.Equal(t, "dlv_3", receiveWithin(t, s.entered, "the retried event").DeliveryID)
	s.proceed <- nil
	s.shutdown(t)
}

func TestAsyncShutdownDrainsQueue(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 1, QueueSize: 10})
	ids := []string{"dlv_1", "dlv_2", "dlv_3", "dlv_4"}
	for _, id := range ids {
		require.Equal(t, http.StatusAccepted, s.send(t, id).Code)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.async.Shutdown(context.Background()) }()

	// Every queued event is handled, in order, before Shutdown returns.
	for _, id := range ids {
		require.Equal(t, id, receiveWithin(t, s.entered, id).DeliveryID)
		select {
		case err := <-stopped:
			t.Fatalf("Shutdown returned %v with events still queued", err)
		default:
		}
		s.proceed <- nil
	}
	require.NoError(t, receiveWithin(t, stopped, "Shutdown"))

	rec := s.send(t, "dlv_late")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, "refused after shutdown")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.NoError(t, s.async.Shutdown(context.Background()), "second Shutdown is fine")
}

func TestAsyncShutdownGivesUp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 1, QueueSize: 10})
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_1").Code)
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_2").Code)
	receiveWithin(t, s.entered, "the first event") // blocks until its context ends

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.async.Shutdown(ctx), context.Canceled)

	// The running handler's context was canceled and the queued event
	// dropped; both are reported and their claims released.
	errs := []error{receiveWithin(t, s.failed, "OnError"), receiveWithin(t, s.failed, "OnError")}
	require.ErrorIs(t, errs[0], context.Canceled)
	require.ErrorIs(t, errs[1], webhook.ErrAsyncShutdown)
	require.NoError(t, s.async.Shutdown(context.Background()), "the workers exit")
	for _, id := range []string{"dlv_1", "dlv_2"} {
		res, err := s.store.Claim(context.Background(), id, "owner-test", time.Minute)
		require.NoError(t, err)
		require.Equal(t, webhook.ClaimAcquired, res, id)
	}
}

func TestAsyncHandlerFailure(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 1})
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_f").Code)
	receiveWithin(t, s.entered, "the handler")
	s.proceed <- errors.New("warehouse down")
	require.EqualError(t, receiveWithin(t, s.failed, "OnError"), "warehouse down")
	s.shutdown(t)
	// The claim was released: a manual redelivery runs the handler again.
	res, err := s.store.Claim(context.Background(), "dlv_f", "owner-test", time.Minute)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimAcquired, res)
}

func TestAsyncHandlerPermanentFailure(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newAsyncSetup(t, webhook.AsyncConfig{Workers: 1})
	require.Equal(t, http.StatusAccepted, s.send(t, "dlv_p").Code)
	receiveWithin(t, s.entered, "the handler")
	s.proceed <- webhook.Permanent(errors.New("unknown project"))
	var pe *webhook.PermanentError
	require.ErrorAs(t, receiveWithin(t, s.failed, "OnError"), &pe, "OnError still hears of it")
	require.EqualError(t, pe.Err, "unknown project")
	s.shutdown(t)
	// The claim was marked done: a redelivery is not handled again.
	res, err := s.store.Claim(context.Background(), "dlv_p", "owner-test", time.Minute)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimDone, res)
}

func TestAsyncHandlerPanicKeepsWorkerAlive(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var mu sync.Mutex
	var got []error
	done := make(chan struct{}, 2)
	a, err := webhook.NewAsyncHandler(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		defer func() { done <- struct{}{} }()
		if e.DeliveryID == "dlv_panic" {
			panic(http.ErrAbortHandler) // not re-raised on a worker: it would crash the process
		}
		return nil
	}), &webhook.AsyncConfig{Workers: 1, Logger: newReceiverTestLogger(io.Discard), OnError: func(ctx context.Context, e *webhook.Event, body []byte, err error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, err)
	}})
	require.NoError(t, err)
	h := newReceiver(t, webhook.ReceiverConfig{}).Middleware(a)
	for _, id := range []string{"dlv_panic", "dlv_ok"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedRequest(t, "", envelopeFor(id)))
		require.Equal(t, http.StatusAccepted, rec.Code)
	}
	receiveWithin(t, done, "first event")
	receiveWithin(t, done, "second event: the worker survived")
	require.NoError(t, a.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	var pe *webhook.PanicError
	require.ErrorAs(t, got[0], &pe)
	require.Equal(t, http.ErrAbortHandler, pe.Value)
}

func TestNewAsyncHandlerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	h := webhook.EventHandlerFunc(handleOK)
	tests := []struct {
		name      string
		h         webhook.EventHandler
		cfg       *webhook.AsyncConfig
		wantField string
	}{
		{"nil handler", nil, nil, "h"},
		{"negative QueueSize", h, &webhook.AsyncConfig{QueueSize: -1}, "QueueSize"},
		{"negative Workers", h, &webhook.AsyncConfig{Workers: -1}, "Workers"},
		{"negative RetryAfter", h, &webhook.AsyncConfig{RetryAfter: -1}, "RetryAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := webhook.NewAsyncHandler(tt.h, tt.cfg)
			require.Nil(t, a)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantField, ve.Field)
		})
	}
}

func TestAsyncWithoutReceiver(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a, err := webhook.NewAsyncHandler(webhook.EventHandlerFunc(handleOK), &webhook.AsyncConfig{Logger: newReceiverTestLogger(io.Discard)})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_x")))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.NoError(t, a.Shutdown(context.Background()))
}
