package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

func newReceiverTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: w}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lockedWriter serializes writes, so that a test's log buffer may be written
// from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dedupeSetup is a receiver with idempotency in front of an event handler.
type dedupeSetup struct {
	store   *webhook.MemoryDedupeStore
	handler http.Handler
	runs    atomic.Int32
}

func newDedupeSetup(t *testing.T, handle webhook.EventHandlerFunc) *dedupeSetup {
	t.Helper()
	s := &dedupeSetup{store: webhook.NewMemoryDedupeStore(0)}
	logger := newReceiverTestLogger(io.Discard)
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: logger})
	idem, err := webhook.NewIdempotency(s.store, &webhook.IdempotencyConfig{Logger: logger})
	require.NoError(t, err)
	s.handler = rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(
		func(ctx context.Context, e *webhook.Event, body []byte) error {
			s.runs.Add(1)
			return handle(ctx, e, body)
		}))))
	return s
}

func (s *dedupeSetup) send(t *testing.T, id string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, signedRequest(t, "", envelopeFor(id)))
	return rec
}

func handleOK(context.Context, *webhook.Event, []byte) error { return nil }

// TestIdempotencyDuplicate is R17: a duplicate of a processed delivery gets
// 2xx and does not run the handler.
func TestIdempotencyDuplicate(t *testing.T) {
	t.Parallel()
	s := newDedupeSetup(t, handleOK)
	require.Equal(t, http.StatusNoContent, s.send(t, "dlv_a").Code)
	for range 3 {
		require.Equal(t, http.StatusOK, s.send(t, "dlv_a").Code)
	}
	require.EqualValues(t, 1, s.runs.Load())
	require.Equal(t, http.StatusNoContent, s.send(t, "dlv_b").Code, "another delivery runs")
	require.EqualValues(t, 2, s.runs.Load())
}

// TestIdempotencyConcurrentDuplicate is R18: while a delivery is being
// handled, its duplicates are answered 409 with Retry-After and never run.
func TestIdempotencyConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	s := newDedupeSetup(t, func(context.Context, *webhook.Event, []byte) error {
		entered <- struct{}{}
		<-release
		return nil
	})
	first := make(chan int, 1)
	go func() { first <- s.send(t, "dlv_a").Code }()
	testwait.Recv(t, entered, "first delivery not handled")
	for range 5 {
		rec := s.send(t, "dlv_a")
		require.Equal(t, http.StatusConflict, rec.Code)
		require.Equal(t, "30", rec.Header().Get("Retry-After"))
	}
	close(release)
	code := testwait.Recv(t, first, "first delivery did not finish")
	require.Equal(t, http.StatusNoContent, code)
	require.Equal(t, http.StatusOK, s.send(t, "dlv_a").Code)
	require.EqualValues(t, 1, s.runs.Load())
}

// TestIdempotencyRace is R18: the same delivery fired from many goroutines
// at once. The handler of the one that runs first holds on until every
// other request has been answered, so all of them overlap it: each must be
// refused with 409 by the atomic claim, none may run the handler (run with
// -race).
func TestIdempotencyRace(t *testing.T) {
	t.Parallel()
	const n = 32
	var answered atomic.Int32
	othersAnswered := make(chan struct{})
	var inside, maxInside, runs atomic.Int32
	s := newDedupeSetup(t, func(context.Context, *webhook.Event, []byte) error {
		in := inside.Add(1)
		defer inside.Add(-1)
		for {
			m := maxInside.Load()
			if in <= m || maxInside.CompareAndSwap(m, in) {
				break
			}
		}
		if runs.Add(1) > 1 {
			return nil // a duplicate that got through: answered at once, and counted
		}
		select {
		case <-othersAnswered:
		case <-time.After(10 * time.Second):
			t.Error("the other requests were not all answered while the handler ran")
		}
		return nil
	})
	start := make(chan struct{})
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			codes <- s.send(t, "dlv_race").Code
			if answered.Add(1) == n-1 {
				close(othersAnswered)
			}
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	require.EqualValues(t, 1, s.runs.Load())
	require.EqualValues(t, 1, maxInside.Load())
	require.Equal(t, map[int]int{http.StatusNoContent: 1, http.StatusConflict: n - 1}, count,
		"every duplicate arrived while the first was being handled")
	require.Equal(t, http.StatusOK, s.send(t, "dlv_race").Code, "and once it is done, a duplicate is answered 200")
}

// TestIdempotencyReleaseOnFailure is R19: when the handler fails or panics,
// the claim is released, the answer is not 2xx, and the retry runs the
// handler again.
func TestIdempotencyReleaseOnFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func() error
	}{
		{"error", func() error { return errors.New("database down") }},
		{"panic", func() error { panic("nil map") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var failing atomic.Bool
			failing.Store(true)
			s := newDedupeSetup(t, func(context.Context, *webhook.Event, []byte) error {
				if failing.Load() {
					return tt.fail()
				}
				return nil
			})
			require.Equal(t, http.StatusInternalServerError, s.send(t, "dlv_a").Code)
			require.Equal(t, http.StatusInternalServerError, s.send(t, "dlv_a").Code, "retry runs again")
			failing.Store(false)
			require.Equal(t, http.StatusNoContent, s.send(t, "dlv_a").Code)
			require.Equal(t, http.StatusOK, s.send(t, "dlv_a").Code)
			require.EqualValues(t, 3, s.runs.Load())
		})
	}
}

// TestIdempotencyPermanentFailureIsDone checks that a handler error
// wrapped with Permanent finishes the delivery: the sender gets 200 and a
// redelivery is answered "already processed" without running the handler.
func TestIdempotencyPermanentFailureIsDone(t *testing.T) {
	t.Parallel()
	s := newDedupeSetup(t, func(context.Context, *webhook.Event, []byte) error {
		return webhook.Permanent(errors.New("task belongs to a deleted project"))
	})
	first := s.send(t, "dlv_p")
	require.Equal(t, http.StatusOK, first.Code)
	require.Contains(t, first.Body.String(), "not processed")
	again := s.send(t, "dlv_p")
	require.Equal(t, http.StatusOK, again.Code)
	require.Contains(t, again.Body.String(), "already processed")
	require.EqualValues(t, 1, s.runs.Load())
}

// TestIdempotencyReleaseOnRawPanic covers an http.Handler behind the
// middleware that panics without anything recovering it: the claim is
// released and the panic goes on to net/http.
func TestIdempotencyReleaseOnRawPanic(t *testing.T) {
	t.Parallel()
	store := webhook.NewMemoryDedupeStore(0)
	idem, err := webhook.NewIdempotency(store, nil)
	require.NoError(t, err)
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	var panicking atomic.Bool
	panicking.Store(true)
	h := rv.Middleware(idem.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if panicking.Load() {
			panic("boom")
		}
		w.WriteHeader(http.StatusOK)
	})))
	require.PanicsWithValue(t, "boom", func() {
		h.ServeHTTP(httptest.NewRecorder(), signedRequest(t, "", envelopeFor("dlv_p")))
	})
	res, err := store.Claim(context.Background(), "dlv_p", "owner-test", time.Minute)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimAcquired, res, "the claim was released")
}

// recordingStore wraps a MemoryDedupeStore and records TTLs, or fails.
type recordingStore struct {
	*webhook.MemoryDedupeStore
	fail  error
	ttls  chan time.Duration
	lease chan time.Duration
}

func (s *recordingStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (webhook.ClaimResult, error) {
	if s.fail != nil {
		return 0, s.fail
	}
	s.lease <- lease
	return s.MemoryDedupeStore.Claim(ctx, key, owner, lease)
}

func (s *recordingStore) Done(ctx context.Context, key string, ttl time.Duration) error {
	s.ttls <- ttl
	return s.MemoryDedupeStore.Done(ctx, key, ttl)
}

// TestIdempotencyDefaultTTL is R20: a processed id is remembered for at
// least the 72 hours the sender's retries may span.
func TestIdempotencyDefaultTTL(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, webhook.DefaultDedupeTTL, 72*time.Hour)
	store := &recordingStore{MemoryDedupeStore: webhook.NewMemoryDedupeStore(0), ttls: make(chan time.Duration, 1), lease: make(chan time.Duration, 1)}
	idem, err := webhook.NewIdempotency(store, nil)
	require.NoError(t, err)
	rv := newReceiver(t, webhook.ReceiverConfig{})
	rec := httptest.NewRecorder()
	rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(handleOK)))).ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_ttl")))
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, webhook.DefaultDedupeLease, <-store.lease)
	require.Equal(t, webhook.DefaultDedupeTTL, <-store.ttls)
}

func TestIdempotencyStoreFailure(t *testing.T) {
	t.Parallel()
	store := &recordingStore{MemoryDedupeStore: webhook.NewMemoryDedupeStore(0), fail: errors.New("connection refused")}
	idem, err := webhook.NewIdempotency(store, &webhook.IdempotencyConfig{RetryAfter: 90 * time.Second, Logger: newReceiverTestLogger(io.Discard)})
	require.NoError(t, err)
	rv := newReceiver(t, webhook.ReceiverConfig{})
	var runs atomic.Int32
	h := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		runs.Add(1)
		return nil
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_x")))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "90", rec.Header().Get("Retry-After"))
	require.Zero(t, runs.Load(), "fails closed: no unguarded run")
}

func TestIdempotencyWithoutReceiver(t *testing.T) {
	t.Parallel()
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{Logger: newReceiverTestLogger(io.Discard)})
	require.NoError(t, err)
	called := false
	rec := httptest.NewRecorder()
	idem.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).
		ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_x")))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.False(t, called)
}

func TestNewIdempotencyRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		store     webhook.DedupeStore
		cfg       *webhook.IdempotencyConfig
		wantField string
	}{
		{"nil store", nil, nil, "store"},
		{"negative TTL", webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{TTL: -time.Hour}, "TTL"},
		{"negative Lease", webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{Lease: -time.Hour}, "Lease"},
		{"negative RetryAfter", webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{RetryAfter: -time.Hour}, "RetryAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idem, err := webhook.NewIdempotency(tt.store, tt.cfg)
			require.Nil(t, idem)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantField, ve.Field)
		})
	}
}

// TestIdempotencyStandardSchemeRetry: with Standard Webhooks every attempt
// is signed afresh (new timestamp, same id and body); the retry is still
// recognized as a duplicate.
func TestIdempotencyStandardSchemeRetry(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rv := newReceiver(t, webhook.ReceiverConfig{Scheme: webhook.SchemeStandard, Now: func() time.Time { return now }})
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), nil)
	require.NoError(t, err)
	var runs atomic.Int32
	h := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		runs.Add(1)
		return nil
	}))))
	body := envelopeFor("dlv_std")
	var statuses []int
	for _, at := range []time.Time{now.Add(-2 * time.Minute), now} {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		require.NoError(t, webhook.Signer{Scheme: webhook.SchemeStandard}.SignRequest(req.Header, []webhook.Secret{receiverSecret}, "dlv_std", webhook.EventTaskUpdated, at, body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		statuses = append(statuses, rec.Code)
	}
	require.Equal(t, []int{http.StatusNoContent, http.StatusOK}, statuses)
	require.EqualValues(t, 1, runs.Load())
}

// TestIdempotencyKeysOnTheSignedDeliveryID is R10 on the Onplana scheme:
// deliveries are deduplicated by the delivery_id inside the signed body,
// never by the delivery id header, which the signature does not cover. A
// replay with that header changed is still a duplicate, and a new delivery
// whose header names a processed one still runs.
func TestIdempotencyKeysOnTheSignedDeliveryID(t *testing.T) {
	t.Parallel()
	s := newDedupeSetup(t, handleOK)
	send := func(bodyID, headerID string) int {
		t.Helper()
		req := signedRequest(t, "", envelopeFor(bodyID))
		req.Header.Set(webhook.DefaultDeliveryHeader, headerID)
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusNoContent, send("dlv_a", "dlv_a"))
	require.Equal(t, http.StatusOK, send("dlv_a", "dlv_header_changed"), "a replay with another header is a duplicate")
	require.Equal(t, http.StatusOK, send("dlv_a", ""), "and so is one without the header")
	require.EqualValues(t, 1, s.runs.Load())
	require.Equal(t, http.StatusNoContent, send("dlv_b", "dlv_a"), "a new delivery naming a processed one in its header runs")
	require.EqualValues(t, 2, s.runs.Load())
}

// TestIdempotencyNotPoisonedByForgery: a forged request naming a real
// delivery_id is refused before the dedupe store is touched, so it cannot
// make the genuine delivery look like a duplicate (R10, R13).
func TestIdempotencyNotPoisonedByForgery(t *testing.T) {
	t.Parallel()
	s := newDedupeSetup(t, handleOK)
	forged := signedRequest(t, "", envelopeFor("dlv_real"), receiverOtherSecret)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, forged)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Zero(t, webhook.DedupeLen(s.store), "nothing claimed for a forgery")
	require.Equal(t, http.StatusNoContent, s.send(t, "dlv_real").Code)
	require.EqualValues(t, 1, s.runs.Load())
}

// TestIdempotencyLeaseTakeover runs a handler that outlives its claim's
// lease: a retry takes the delivery over, and then the first request ends.
// Its Release must not free the retry's claim (a third copy would run while
// the retry still runs), and the retry's Release must not undo its Done (a
// later copy would run a third time).
func TestIdempotencyLeaseTakeover(t *testing.T) {
	t.Parallel()
	boom := errors.New("downstream failed")
	tests := []struct {
		name        string
		first       error // what the request whose lease expired ends with
		second      error // what the request that took over ends with
		thirdStatus int   // a copy arriving after the first ended, while the second runs
		lastStatus  int   // a copy arriving after both ended
		lastRuns    int32
	}{
		{"first fails, second succeeds", boom, nil, http.StatusConflict, http.StatusOK, 2},
		{"first succeeds, second fails", nil, boom, http.StatusOK, http.StatusOK, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type run struct {
				entered chan struct{}
				result  chan error
			}
			runs := make(chan *run, 3)
			var count atomic.Int32
			rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
			const lease = time.Millisecond
			idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{
				Lease: lease, Logger: newReceiverTestLogger(io.Discard),
			})
			require.NoError(t, err)
			h := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
				count.Add(1)
				select {
				case r := <-runs:
					close(r.entered)
					return <-r.result
				default:
					return nil // a copy that should not have run: counted, answered at once
				}
			}))))
			send := func() int {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_slow")))
				return rec.Code
			}
			start := func(result error) (codes chan int, finish func()) {
				r := &run{entered: make(chan struct{}), result: make(chan error, 1)}
				runs <- r
				codes = make(chan int, 1)
				go func() { codes <- send() }()
				testwait.Recv(t, r.entered, "handler not entered")
				return codes, func() { r.result <- result }
			}
			wantCode := func(codes chan int, want int, what string) {
				t.Helper()
				select {
				case got := <-codes:
					require.Equal(t, want, got, what)
				case <-time.After(10 * time.Second):
					t.Fatalf("%s did not answer", what)
				}
			}
			status := func(err error) int {
				if err != nil {
					return http.StatusInternalServerError
				}
				return http.StatusNoContent
			}

			firstCodes, finishFirst := start(tt.first)
			time.Sleep(2 * lease) // the first request's lease runs out while its handler runs
			secondCodes, finishSecond := start(tt.second)
			finishFirst()
			wantCode(firstCodes, status(tt.first), "the first request")
			require.Equal(t, tt.thirdStatus, send(), "a copy while the second request runs")
			finishSecond()
			wantCode(secondCodes, status(tt.second), "the second request")
			require.Equal(t, tt.lastStatus, send(), "a copy after both ended")
			require.Equal(t, tt.lastRuns, count.Load(), "handler runs")
		})
	}
}

// ownerStore records the owner of every Claim and Release.
type ownerStore struct {
	*webhook.MemoryDedupeStore
	mu      sync.Mutex
	claimed []string
	release []string
}

func (s *ownerStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (webhook.ClaimResult, error) {
	s.mu.Lock()
	s.claimed = append(s.claimed, owner)
	s.mu.Unlock()
	return s.MemoryDedupeStore.Claim(ctx, key, owner, lease)
}

func (s *ownerStore) Release(ctx context.Context, key, owner string) error {
	s.mu.Lock()
	s.release = append(s.release, owner)
	s.mu.Unlock()
	return s.MemoryDedupeStore.Release(ctx, key, owner)
}

// TestIdempotencyReleasesItsOwnClaim: each request claims with an owner of
// its own, and releases with that owner.
func TestIdempotencyReleasesItsOwnClaim(t *testing.T) {
	t.Parallel()
	store := &ownerStore{MemoryDedupeStore: webhook.NewMemoryDedupeStore(0)}
	idem, err := webhook.NewIdempotency(store, &webhook.IdempotencyConfig{Logger: newReceiverTestLogger(io.Discard)})
	require.NoError(t, err)
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	h := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		return errors.New("fails")
	}))))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedRequest(t, "", envelopeFor("dlv_owner")))
		require.Equal(t, http.StatusInternalServerError, rec.Code)
	}
	require.Len(t, store.claimed, 2)
	require.NotEmpty(t, store.claimed[0])
	require.NotEqual(t, store.claimed[0], store.claimed[1], "every request has its own owner token")
	require.Equal(t, store.claimed, store.release, "each released the claim it took")
}
