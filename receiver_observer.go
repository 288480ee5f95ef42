package webhook

import (
	"context"
	"net/http"
	"time"
)

// ReceiverObserver is told what a Receiver, and the Idempotency and
// AsyncHandler behind its Middleware, do with each request: for metrics
// and traces. Set it in ReceiverConfig.Observer; Idempotency and
// AsyncHandler find it through the request the Middleware hands them.
// Package github.com/onplana/webhook/otelwebhook implements it with
// OpenTelemetry.
//
// Its methods are called concurrently, on the request's goroutine (on an
// AsyncHandler's worker for the handling of a queued event), and must not
// block.
type ReceiverObserver interface {
	// RequestRejected is called when a request is answered without its
	// event reaching the EventHandler: status is the answer (401, 400,
	// 413, 503, …) and reason says which check refused it.
	RequestRejected(r *http.Request, status int, reason RejectReason)
	// DuplicateDelivery is called when Idempotency answers a delivery it
	// has processed (res is ClaimDone, answered 200) or is processing
	// (ClaimInFlight, answered 409) without running the handler.
	DuplicateDelivery(r *http.Request, e *Event, res ClaimResult)
	// HandlerStarted is called before the EventHandler runs for e; the
	// handler runs under the context it returns (ctx, or a context
	// derived from it, such as one carrying a span).
	HandlerStarted(ctx context.Context, e *Event) context.Context
	// HandlerFinished is called after the EventHandler returned (or
	// panicked), with the context HandlerStarted returned, how long it
	// ran, and its error: nil, an error wrapped with Permanent, a
	// *PanicError, or http.ErrAbortHandler when the handler aborted the
	// response that way.
	HandlerFinished(ctx context.Context, e *Event, elapsed time.Duration, err error)
}

// RejectReason says why a request was answered without being handled.
// The values are short, stable identifiers, fit for a metric attribute.
type RejectReason string

// The reasons of ReceiverObserver.RequestRejected, with the status each
// is answered.
const (
	RejectMethod            RejectReason = "method_not_allowed" // 405: not a POST
	RejectMissingSignature  RejectReason = "missing_signature"  // 401: no signature header
	RejectTooLarge          RejectReason = "too_large"          // 413: body over MaxBodyBytes
	RejectReadTimeout       RejectReason = "read_timeout"       // 408: body not received in time
	RejectUnreadable        RejectReason = "unreadable_body"    // 400: the body could not be read
	RejectSignature         RejectReason = "invalid_signature"  // 401: malformed or matching no secret
	RejectTimestamp         RejectReason = "timestamp"          // 401: SchemeStandard timestamp outside the tolerance
	RejectMalformed         RejectReason = "malformed"          // 400: not a valid envelope
	RejectEventMismatch     RejectReason = "event_mismatch"     // 400: event header disagrees with the envelope
	RejectTooOld            RejectReason = "too_old"            // 400: older than MaxEventAge
	RejectDedupeUnavailable RejectReason = "dedupe_unavailable" // 503: Idempotency's store failed
	RejectQueueFull         RejectReason = "queue_full"         // 503: AsyncHandler's queue is full
	RejectShuttingDown      RejectReason = "shutting_down"      // 503: AsyncHandler is shutting down
)

// handle runs h for rec's event, told to rec's observer when there is one.
// inRequest is as for callHandler.
func handle(ctx context.Context, h EventHandler, rec *received, inRequest bool) error {
	obs := rec.obs
	if obs == nil {
		return callHandler(ctx, h, rec, inRequest)
	}
	ctx = obs.HandlerStarted(ctx, rec.event)
	start := time.Now()
	err := http.ErrAbortHandler // what propagates if callHandler does not return
	defer func() { obs.HandlerFinished(ctx, rec.event, time.Since(start), err) }()
	err = callHandler(ctx, h, rec, inRequest)
	return err
}

// AsyncStats is a snapshot of an AsyncHandler's queue.
type AsyncStats struct {
	// Queued counts the events accepted and waiting for a worker.
	Queued int
	// QueueSize is how many may wait (AsyncConfig.QueueSize); beyond it
	// requests are answered 503.
	QueueSize int
}

// Stats returns the current state of the queue. It is cheap and safe to
// call at any time, from any goroutine.
func (a *AsyncHandler) Stats() AsyncStats {
	return AsyncStats{Queued: len(a.queue), QueueSize: cap(a.queue)}
}
