package webhook

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of IdempotencyConfig.
const (
	// DefaultDedupeTTL is how long a processed delivery_id is remembered.
	// It must outlast the sender's whole retry window, which spans days:
	// a duplicate arriving after the TTL runs the handler again.
	DefaultDedupeTTL = 72 * time.Hour
	// DefaultDedupeLease is how long a claim on a delivery being processed
	// holds before another request may take it over, which is what lets a
	// retry proceed after the process crashed mid-handler.
	DefaultDedupeLease = 10 * time.Minute
	// DefaultRetryAfter is the Retry-After a receiver sends with 409 (the
	// same delivery is being processed) and 503 (queue full, store down).
	DefaultRetryAfter = 30 * time.Second
)

// ClaimResult is the outcome of DedupeStore.Claim.
type ClaimResult int

// Outcomes of a claim.
const (
	// ClaimAcquired means the caller now owns the key and must call Done
	// or Release.
	ClaimAcquired ClaimResult = iota + 1
	// ClaimInFlight means another caller holds an unexpired claim on the
	// key.
	ClaimInFlight
	// ClaimDone means the key was marked done and its TTL has not passed.
	ClaimDone
)

// String returns "acquired", "in flight" or "done".
func (c ClaimResult) String() string {
	switch c {
	case ClaimAcquired:
		return "acquired"
	case ClaimInFlight:
		return "in flight"
	case ClaimDone:
		return "done"
	}
	return "ClaimResult(" + strconv.Itoa(int(c)) + ")"
}

// DedupeStore remembers which deliveries were processed. Implementations
// must be safe for concurrent use, including by several processes when the
// store is shared (pgstore). NewMemoryDedupeStore returns one for a single
// process; storetest.RunDedupe checks one against this contract.
//
// A claim has an owner: a token the claimer draws, unique to that claim
// (Idempotency numbers its claims after a prefix of 128 random bits drawn
// once per process). A handler may outlive
// its claim's lease, and another request then takes the key over; the
// owner is what keeps the first request, when it finally ends, from
// releasing the second one's claim.
type DedupeStore interface {
	// Claim atomically claims key for processing by owner: if key is
	// unknown, or its claim or done mark has expired, it records an
	// in-flight claim held by owner that expires after lease and returns
	// ClaimAcquired. Otherwise it returns ClaimInFlight or ClaimDone and
	// changes nothing. Two concurrent Claims of one key never both return
	// ClaimAcquired.
	Claim(ctx context.Context, key, owner string, lease time.Duration) (ClaimResult, error)
	// Done marks key processed: Claims return ClaimDone until ttl passes.
	// The delivery was processed whoever holds the key now, so Done also
	// replaces a claim taken over after the caller's lease expired (its
	// holder, should it fail, then finds nothing of its own to Release),
	// and records a key it does not know. An unexpired done mark stays as
	// it is, with its own ttl.
	//
	// Idempotency calls Done and Release with a context that keeps the
	// request's values but neither its cancellation (the sender may have
	// hung up) nor a deadline: a store whose calls can block, on a network
	// or a lock, bounds them itself, as pgstore's does (a few seconds).
	Done(ctx context.Context, key string, ttl time.Duration) error
	// Release forgets owner's claim on key, so the next Claim acquires it.
	// It changes nothing unless key is in flight under a claim of owner:
	// neither a claim another request took over after owner's lease
	// expired, nor a done mark, is released. Releasing what owner does not
	// hold is not an error.
	Release(ctx context.Context, key, owner string) error
}

// IdempotencyConfig configures an Idempotency; the zero value (or nil) is
// usable.
type IdempotencyConfig struct {
	// TTL is how long a processed delivery_id is remembered. Defaults to
	// DefaultDedupeTTL; it should exceed the sender's retry window.
	TTL time.Duration
	// Lease bounds how long one request may hold a claim while it is being
	// processed. It should exceed the longest handler run (in async mode,
	// queue wait included): after it, a duplicate may run the handler
	// concurrently. Defaults to DefaultDedupeLease.
	Lease time.Duration
	// RetryAfter is sent with 409 and 503 answers. Defaults to
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Logger receives store failures. Defaults to slog.Default().
	Logger *slog.Logger
}

// Idempotency is middleware that runs the wrapped handler at most once per
// delivery_id, so that the sender's retries (at-least-once delivery) have
// their side effects once. It must sit behind Receiver.Middleware, whose
// verified event supplies the delivery_id; the id is inside the signed body,
// so a forger cannot change it to dodge deduplication. An Idempotency is
// safe for concurrent use.
type Idempotency struct {
	store      DedupeStore
	ttl        time.Duration
	lease      time.Duration
	retryAfter string
	log        *slog.Logger
}

// NewIdempotency returns an Idempotency over store; cfg may be nil. It
// returns a *ValidationError if store is nil or a duration is negative.
func NewIdempotency(store DedupeStore, cfg *IdempotencyConfig) (*Idempotency, error) {
	if store == nil {
		return nil, &ValidationError{Field: "store", Reason: "must not be nil"}
	}
	var c IdempotencyConfig
	if cfg != nil {
		c = *cfg
	}
	for _, f := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"TTL", &c.TTL, DefaultDedupeTTL},
		{"Lease", &c.Lease, DefaultDedupeLease},
		{"RetryAfter", &c.RetryAfter, DefaultRetryAfter},
	} {
		switch {
		case *f.d < 0:
			return nil, &ValidationError{Field: f.name, Reason: "must not be negative"}
		case *f.d == 0:
			*f.d = f.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Idempotency{
		store:      store,
		ttl:        c.TTL,
		lease:      c.Lease,
		retryAfter: retryAfterSeconds(c.RetryAfter),
		log:        c.Logger,
	}, nil
}

// Middleware returns a handler that claims the delivery_id before calling
// next:
//
//   - a delivery already processed is answered 200 without calling next;
//   - a delivery being processed by another request is answered 409 with
//     Retry-After, so the two never run at once;
//   - when the store fails, 503 with Retry-After (failing closed: running
//     the handler unguarded could repeat side effects);
//   - otherwise next runs. A 2xx answer marks the delivery done; any other
//     answer, or a panic (re-raised after), releases the claim so the
//     sender's retry runs next again.
//
// Behind Middleware, an AsyncHandler takes the claim over: it is marked done
// when the queued event has been handled, released when handling fails.
// Without Receiver.Middleware in front, it answers 500 and next is not run.
func (d *Idempotency) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		rec := receivedFrom(ctx)
		if rec == nil {
			d.log.ErrorContext(ctx, "webhook: Idempotency.Middleware used without Receiver.Middleware in front")
			http.Error(w, "webhook: receiver misconfigured", http.StatusInternalServerError)
			return
		}
		owner, ok := d.claim(ctx, w, r, rec)
		if !ok {
			return
		}
		// The claim and the writer that records the status share one
		// allocation. The claim travels to an AsyncHandler behind in rec,
		// which the request already carries, rather than in a context of
		// its own, which would cost a copy of the request.
		run := &dedupeRun{
			claim: dedupeClaim{idem: d, key: rec.event.DeliveryID, owner: owner},
			sw:    dedupeStatusWriter{ResponseWriter: w},
		}
		c, sw := &run.claim, &run.sw
		outer := rec.claim
		rec.claim = c
		finished := false
		defer func() {
			rec.claim = outer
			if !finished && !c.handedOver {
				c.finish(ctx, false) // next panicked: let the retry run
			}
		}()
		next.ServeHTTP(sw, r)
		finished = true
		if !c.handedOver {
			c.finish(ctx, sw.status() >= 200 && sw.status() < 300)
		}
	})
}

// serveEvent is Middleware(rv.ServeEvents(h)) for a request that
// Receiver.Middleware verified, whose context ctx carries rec: the
// composition NewHandler makes when nothing between the layers needs an
// http.Handler (no AsyncHandler, no ReceiverObserver). Knowing the status
// that serveEvents answers, it needs neither a writer recording it nor a
// request carrying the claim.
func (d *Idempotency) serveEvent(ctx context.Context, w http.ResponseWriter, r *http.Request, rec *received, logger *slog.Logger, h EventHandler) {
	owner, ok := d.claim(ctx, w, r, rec)
	if !ok {
		return
	}
	c := dedupeClaim{idem: d, key: rec.event.DeliveryID, owner: owner}
	finished := false
	defer func() {
		if !finished {
			c.finish(ctx, false) // h panicked with http.ErrAbortHandler: let the retry run
		}
	}()
	status := serveEvents(ctx, w, rec, logger, h)
	finished = true
	c.finish(ctx, status >= 200 && status < 300)
}

// claim claims the delivery of rec for the request r (whose context is
// ctx) and reports whether it acquired it, with the owner token it drew.
// Otherwise it has answered the request: 200 for a delivery already
// processed, 409 for one being processed, 503 when the store failed.
func (d *Idempotency) claim(ctx context.Context, w http.ResponseWriter, r *http.Request, rec *received) (owner string, ok bool) {
	key := rec.event.DeliveryID
	owner = newClaimOwner()
	res, err := d.store.Claim(ctx, key, owner, d.lease)
	if err != nil {
		d.log.LogAttrs(ctx, slog.LevelError, "webhook: dedupe claim failed",
			slog.String("delivery_id", key), slog.String("error", err.Error()))
		if rec.obs != nil {
			rec.obs.RequestRejected(r, http.StatusServiceUnavailable, RejectDedupeUnavailable)
		}
		w.Header().Set("Retry-After", d.retryAfter)
		http.Error(w, "webhook: temporarily unavailable", http.StatusServiceUnavailable)
		return "", false
	}
	if rec.obs != nil && (res == ClaimDone || res == ClaimInFlight) {
		rec.obs.DuplicateDelivery(r, rec.event, res)
	}
	switch res {
	case ClaimDone:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("webhook: delivery already processed\n"))
		return "", false
	case ClaimInFlight:
		w.Header().Set("Retry-After", d.retryAfter)
		http.Error(w, "webhook: delivery is being processed", http.StatusConflict)
		return "", false
	case ClaimAcquired:
		return owner, true
	default:
		d.log.LogAttrs(ctx, slog.LevelError, "webhook: dedupe store returned an invalid claim result",
			slog.String("delivery_id", key), slog.Int("result", int(res)))
		if rec.obs != nil {
			rec.obs.RequestRejected(r, http.StatusServiceUnavailable, RejectDedupeUnavailable)
		}
		w.Header().Set("Retry-After", d.retryAfter)
		http.Error(w, "webhook: temporarily unavailable", http.StatusServiceUnavailable)
		return "", false
	}
}

// claimOwnerPrefix starts every owner token of this process: 128 random
// bits, so that tokens of different processes sharing a store differ.
var claimOwnerPrefix = rand.Text() + "-"

// claimOwners numbers the claims of this process.
var claimOwners atomic.Uint64

// Owner tokens are claimOwnerPrefix and the claim's number in
// ownerDigits base-32 digits, all of one width, so that ownerBatch
// tokens, made ownerBatchSize at a time, can share one string: one
// allocation for that many claims instead of one each.
const (
	ownerDigits    = 13 // 64 bits
	ownerBatchSize = 64 // a power of two up to 32*32 (see newOwnerBatch)
)

// ownerBatch holds the tokens of the claims first to first+ownerBatchSize-1.
type ownerBatch struct {
	first  uint64
	tokens string
}

// ownerBatches is the batch of the latest claims.
var ownerBatches atomic.Pointer[ownerBatch]

// newClaimOwner returns an owner token unique to one claim: the process's
// random prefix and the claim's number. A token only has to be unique, not
// secret or unpredictable, so drawing random bits per request is not
// needed.
func newClaimOwner() string {
	n := claimOwners.Add(1) - 1
	first := n &^ (ownerBatchSize - 1)
	b := ownerBatches.Load()
	if b == nil || b.first != first {
		// A batch's tokens follow from its first number, so goroutines
		// racing here make equal batches, and one that finds a newer batch
		// stored makes its own again: a token is never handed out twice,
		// since its number is not.
		b = newOwnerBatch(first)
		ownerBatches.Store(b)
	}
	width := len(claimOwnerPrefix) + ownerDigits
	i := int(n-first) * width
	return b.tokens[i : i+width]
}

// newOwnerBatch returns the batch of tokens that starts at claim number
// first.
func newOwnerBatch(first uint64) *ownerBatch {
	const digits = "0123456789abcdefghijklmnopqrstuv"
	var buf [64]byte
	token := append(append(buf[:0], claimOwnerPrefix...), make([]byte, ownerDigits)...)
	num := token[len(claimOwnerPrefix):]
	for i, v := len(num)-1, first; i >= 0; i, v = i-1, v>>5 {
		num[i] = digits[v&31]
	}
	var all strings.Builder
	all.Grow(ownerBatchSize * len(token))
	for k := range uint64(ownerBatchSize) {
		// The tokens of a batch differ in their last two digits only:
		// first is a multiple of ownerBatchSize, which divides 32*32.
		v := first + k
		num[len(num)-2], num[len(num)-1] = digits[v>>5&31], digits[v&31]
		all.Write(token)
	}
	return &ownerBatch{first: first, tokens: all.String()}
}

// dedupeRun holds what Idempotency.Middleware allocates per claim.
type dedupeRun struct {
	claim dedupeClaim
	sw    dedupeStatusWriter
}

// dedupeClaim is a claim acquired by Idempotency.Middleware. An
// AsyncHandler behind it takes it over (handedOver) and finishes it from
// the worker.
type dedupeClaim struct {
	idem       *Idempotency
	key        string
	owner      string // the token the claim was taken with
	handedOver bool   // set and read only by the request's goroutine
}

// dedupeClaimFrom returns the claim of the Idempotency that runs the
// request of ctx, or nil.
func dedupeClaimFrom(ctx context.Context) *dedupeClaim {
	if rec := receivedFrom(ctx); rec != nil {
		return rec.claim
	}
	return nil
}

// finish marks the claim done on success and releases it otherwise.
func (c *dedupeClaim) finish(ctx context.Context, ok bool) {
	// These run even after the client went away: a claim left in flight
	// would block the sender's retries for a whole lease. The store bounds
	// its own calls (see DedupeStore), so that one that never blocks, such
	// as MemoryDedupeStore, pays for no timer.
	ctx = detach(ctx)
	var err error
	op := "done"
	if ok {
		err = c.idem.store.Done(ctx, c.key, c.idem.ttl)
	} else {
		op = "release"
		err = c.idem.store.Release(ctx, c.key, c.owner)
	}
	if err != nil {
		// Done failing means a retry may run the handler again; Release
		// failing means retries get 409 until the lease expires.
		c.idem.log.LogAttrs(ctx, slog.LevelError, "webhook: dedupe "+op+" failed",
			slog.String("delivery_id", c.key), slog.String("error", err.Error()))
	}
}

// dedupeStatusWriter records the status code written through it.
type dedupeStatusWriter struct {
	http.ResponseWriter
	code int
}

func (w *dedupeStatusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *dedupeStatusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *dedupeStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the status sent, 200 if the handler wrote nothing (as net/http
// would answer).
func (w *dedupeStatusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}
