package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// DefaultAsyncQueueSize is how many verified events an AsyncHandler holds
// for its workers before refusing new ones with 503.
const DefaultAsyncQueueSize = 1024

// ErrAsyncShutdown is reported to AsyncConfig.OnError for a queued event
// that was dropped because Shutdown stopped waiting for it.
var ErrAsyncShutdown = errors.New("webhook: async handler shut down before handling the event")

// AsyncConfig configures an AsyncHandler; the zero value (or nil) is usable.
type AsyncConfig struct {
	// QueueSize bounds the events accepted but not yet handled. When the
	// queue is full, requests are answered 503 with Retry-After, so the
	// sender retries and nothing is lost. Defaults to DefaultAsyncQueueSize.
	QueueSize int
	// Workers is the number of events handled at once. Defaults to
	// runtime.GOMAXPROCS(0).
	Workers int
	// RetryAfter is sent with 503 answers. Defaults to DefaultRetryAfter.
	RetryAfter time.Duration
	// OnError, if set, is called from the worker after the handler returned
	// an error (a *PermanentError too) or panicked (err is then a
	// *PanicError), and for each queued event dropped because Shutdown gave
	// up waiting (err is then ErrAsyncShutdown). The sender already got 202
	// and will not retry: OnError is where the host keeps the event for its
	// own retry or dead-letter queue. e and body are not reused by the
	// library and may be retained.
	OnError func(ctx context.Context, e *Event, body []byte, err error)
	// Logger receives handler failures. Defaults to slog.Default().
	Logger *slog.Logger
}

// AsyncHandler answers 202 Accepted as soon as a verified event is queued,
// and handles it later on a pool of worker goroutines. It trades the
// sender's retries for latency: once an event is accepted the sender
// considers it delivered, so a handler error is reported to
// AsyncConfig.OnError and the log, not to the sender. Events queued when the
// process dies are lost; a host that cannot afford that should handle
// events synchronously, or persist them in its handler and process them
// from its own durable queue.
//
// It must sit behind Receiver.Middleware:
//
//	async, err := webhook.NewAsyncHandler(h, nil)
//	…
//	http.Handle("/webhooks", rv.Middleware(idem.Middleware(async)))
//	…
//	defer async.Shutdown(ctx)
//
// Behind Idempotency.Middleware, the delivery's claim is finished by the
// worker: marked done when the handler succeeds (or fails with Permanent),
// released when it fails (so a manual redelivery runs it again) or when the
// queue is full (so the sender's retry runs it). Meanwhile a duplicate of a
// queued delivery is answered 409.
//
// An AsyncHandler is safe for concurrent use. Its workers start in
// NewAsyncHandler and stop in Shutdown.
type AsyncHandler struct {
	h          EventHandler
	onError    func(ctx context.Context, e *Event, body []byte, err error)
	log        *slog.Logger
	retryAfter string

	mu     sync.Mutex // guards closed, and sends on queue against its close
	closed bool
	queue  chan asyncJob

	abort     context.Context // canceled when Shutdown stops waiting
	abortFunc context.CancelFunc
	done      chan struct{} // closed when every worker has exited
}

type asyncJob struct {
	ctx   context.Context // the request's values, without its cancellation
	rec   *received
	claim *dedupeClaim // nil without Idempotency in front
}

// NewAsyncHandler returns an AsyncHandler calling h, with its workers
// started; cfg may be nil. It returns a *ValidationError if h is nil or a
// field of cfg is negative. Call Shutdown to stop the workers.
func NewAsyncHandler(h EventHandler, cfg *AsyncConfig) (*AsyncHandler, error) {
	if h == nil {
		return nil, &ValidationError{Field: "h", Reason: "must not be nil"}
	}
	var c AsyncConfig
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.QueueSize < 0:
		return nil, &ValidationError{Field: "QueueSize", Reason: "must not be negative"}
	case c.Workers < 0:
		return nil, &ValidationError{Field: "Workers", Reason: "must not be negative"}
	case c.RetryAfter < 0:
		return nil, &ValidationError{Field: "RetryAfter", Reason: "must not be negative"}
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultAsyncQueueSize
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	a := &AsyncHandler{
		h:          h,
		onError:    c.OnError,
		log:        c.Logger,
		retryAfter: retryAfterSeconds(c.RetryAfter),
		queue:      make(chan asyncJob, c.QueueSize),
		done:       make(chan struct{}),
	}
	a.abort, a.abortFunc = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(a.work)
	}
	go func() {
		wg.Wait()
		a.abortFunc() // release the context's resources
		close(a.done)
	}()
	return a, nil
}

// ServeHTTP queues the event that Receiver.Middleware verified and answers
// 202. It answers 503 with Retry-After when the queue is full or Shutdown
// has begun, and 500 without Receiver.Middleware in front.
func (a *AsyncHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec := receivedFrom(ctx)
	if rec == nil {
		a.log.ErrorContext(ctx, "webhook: AsyncHandler used without Receiver.Middleware in front")
		http.Error(w, "webhook: receiver misconfigured", http.StatusInternalServerError)
		return
	}
	job := asyncJob{ctx: detach(ctx), rec: rec, claim: dedupeClaimFrom(ctx)}
	queued, closed := a.enqueue(job)
	if !queued {
		msg, reason := "webhook: queue full, retry later", RejectQueueFull
		if closed {
			msg, reason = "webhook: shutting down, retry later", RejectShuttingDown
		}
		if rec.obs != nil {
			rec.obs.RequestRejected(r, http.StatusServiceUnavailable, reason)
		}
		a.log.LogAttrs(ctx, slog.LevelWarn, "webhook: event refused", slog.String("delivery_id", rec.event.DeliveryID), slog.String("reason", msg))
		w.Header().Set("Retry-After", a.retryAfter)
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	if job.claim != nil {
		job.claim.handedOver = true // the worker finishes it
	}
	w.WriteHeader(http.StatusAccepted)
}

func (a *AsyncHandler) enqueue(job asyncJob) (queued, closed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false, true
	}
	select {
	case a.queue <- job:
		return true, false
	default:
		return false, false
	}
}

// Shutdown stops accepting events (new requests get 503), then waits until
// the queued events have been handled and the workers have exited. If ctx
// ends first, it cancels the context of the handlers still running, drops
// the events still queued (reporting each to OnError with ErrAsyncShutdown and
// releasing its dedupe claim) and returns ctx.Err(); the workers exit as
// soon as their handlers return. Calling Shutdown again is safe.
func (a *AsyncHandler) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		a.abortFunc()
		return ctx.Err()
	}
}

func (a *AsyncHandler) work() {
	for job := range a.queue {
		a.run(job)
	}
}

func (a *AsyncHandler) run(job asyncJob) {
	e := job.rec.event
	if a.abort.Err() != nil {
		a.log.LogAttrs(job.ctx, slog.LevelError, "webhook: queued event dropped at shutdown",
			slog.String("delivery_id", e.DeliveryID), slog.String("event", string(e.Type)))
		a.fail(job, ErrAsyncShutdown)
		return
	}
	ctx, cancel := context.WithCancel(job.ctx)
	stop := context.AfterFunc(a.abort, cancel)
	err := handle(ctx, a.h, job.rec, false)
	stop()
	cancel()
	if err != nil {
		logEventError(job.ctx, a.log, e, err)
		a.fail(job, err)
		return
	}
	if job.claim != nil {
		job.claim.finish(job.ctx, true)
	}
}

// fail reports a job that was not handled and finishes its claim: released,
// so that a redelivery runs the handler again, unless err is permanent.
func (a *AsyncHandler) fail(job asyncJob, err error) {
	if job.claim != nil {
		job.claim.finish(job.ctx, isPermanent(err))
	}
	if a.onError != nil {
		func() {
			defer func() {
				if p := recover(); p != nil { // a worker must survive its hook
					a.log.LogAttrs(job.ctx, slog.LevelError, "webhook: AsyncConfig.OnError panicked",
						slog.String("delivery_id", job.rec.event.DeliveryID), slog.Any("panic", p))
				}
			}()
			a.onError(job.ctx, job.rec.event, job.rec.body, err)
		}()
	}
}
