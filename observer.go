package webhook

import (
	"context"
	"net/http"
)

// The interfaces below extend Observer. A Config.Observer that implements
// one of them is told more; one that implements none works as before.
// Package github.com/onplana/webhook/otelwebhook implements them all, with
// OpenTelemetry, outside this module.

// AttemptObserver is an Observer told where each attempt went: what
// per-endpoint metrics and client spans need. When Config.Observer
// implements it, the Dispatcher calls AttemptRecorded where it would call
// AttemptFinished, and AttemptFinished is not called.
type AttemptObserver interface {
	Observer
	// AttemptRecorded is AttemptFinished with the URL the attempt was
	// sent to, as the subscription holds it: redact it (RedactURL) before
	// it leaves the process. url is empty for an attempt that was not sent
	// (the subscription was deleted; see Attempt.Error).
	AttemptRecorded(d *Delivery, a *Attempt, url string)
}

// TraceObserver is an Observer that follows deliveries in traces. When
// Config.Observer implements it, Publish calls TraceContext with its
// context and stores the result with every delivery of the event
// (Delivery.TraceContext), so that the Observer can link each attempt,
// made later and perhaps by another process after a restart, to the trace
// that published the event. pgstore's PublishTx takes the same function
// in its Config.
type TraceObserver interface {
	Observer
	// TraceContext returns the trace context of ctx in a form the
	// Observer reads back from Delivery.TraceContext, or "" when ctx
	// carries none. It runs on the goroutine that called Publish, and its
	// result is stored with every delivery: keep it short (a W3C
	// traceparent is 55 bytes).
	TraceContext(ctx context.Context) string
}

// DisableObserver is an Observer told when the Dispatcher disables a
// subscription automatically: when its endpoint answered 410 Gone (reason
// DisabledGone) or kept failing for Config.DisableAfter. It is called
// once per disabling, where Config.OnDisable is, from the goroutine that
// recorded the deciding attempt, and must not block.
type DisableObserver interface {
	Observer
	// SubscriptionDisabled is called after sub, as stored disabled, was
	// written; reason is sub.DisabledReason.
	SubscriptionDisabled(sub *Subscription, reason string)
}

// HeaderInjector is an Observer that adds headers to the requests of
// attempts, such as a W3C traceparent from Delivery.TraceContext. The
// Dispatcher sends no trace header of its own: what a customer's endpoint
// receives beyond the documented headers is the host's choice. The
// signatures do not cover these headers.
type HeaderInjector interface {
	Observer
	// InjectHeaders adds headers to h, the header of an attempt of d,
	// just before it is sent. It must not change the headers the
	// Dispatcher set (Content-Type, User-Agent, the delivery id and the
	// signature headers). It runs on the worker making the attempt, for
	// every attempt: it must be quick.
	InjectHeaders(d *Delivery, h http.Header)
}
