package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// ErrEventTooOld reports a verified event whose timestamp is older than
// ReceiverConfig.MaxEventAge.
var ErrEventTooOld = errors.New("webhook: event too old")

// Handler is a complete receiving endpoint, made by NewHandler: it
// verifies each request, skips the deliveries already processed, and hands
// each new event to the EventHandler, synchronously or from a queue. It is
// safe for concurrent use.
type Handler struct {
	rv    *Receiver
	next  http.Handler
	async *AsyncHandler // nil unless ReceiverConfig.Async is set
}

// NewHandler returns the whole receiving pipeline for h, built in the one
// order that works:
//
//  1. verify: Receiver.Middleware (405, 401, 413, 400 as it documents);
//  2. deduplicate, when cfg.Dedupe is set: Idempotency.Middleware, so a
//     delivery already processed is answered 200 without running h again;
//  3. queue, when cfg.Async is set: an AsyncHandler answers 202 and runs h
//     on its workers;
//  4. h, usually a Router of typed handlers. Its error answers 500 (the
//     sender retries), Permanent acknowledges (see Receiver.ServeEvents).
//
// A handler nested by hand from Receiver.Middleware, Idempotency.Middleware,
// AsyncHandler and Receiver.ServeEvents does the same; NewHandler is the
// form that cannot be assembled in the wrong order.
//
// It returns the errors of NewReceiver, with the fields of cfg.Idempotency
// and cfg.Async named "Idempotency.TTL", "Async.QueueSize" and so on, and a
// *ValidationError if h is nil. With cfg.Async set, call Shutdown when the
// server has stopped.
func NewHandler(cfg ReceiverConfig, h EventHandler) (*Handler, error) {
	if h == nil {
		return nil, &ValidationError{Field: "h", Reason: "must not be nil"}
	}
	async := cfg.Async
	cfg.Async = nil
	rv, err := NewReceiver(cfg)
	if err != nil {
		return nil, err
	}
	out := &Handler{rv: rv}
	var inner http.Handler
	var direct serveVerified
	if async != nil {
		ac := *async
		if ac.Logger == nil {
			ac.Logger = rv.log
		}
		if out.async, err = NewAsyncHandler(h, &ac); err != nil {
			return nil, prefixField("Async.", err)
		}
		inner = out.async
	} else {
		inner = rv.ServeEvents(h)
		direct = rv.eventPipeline(h)
	}
	if rv.idem != nil {
		inner = rv.idem.Middleware(inner)
	}
	router, _ := h.(*Router)
	out.next = rv.pipeline(inner, router, direct)
	return out, nil
}

// ServeHTTP handles one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(w, r)
}

// Shutdown stops an asynchronous Handler as AsyncHandler.Shutdown does:
// new requests are answered 503, and Shutdown waits until the queued events
// have been handled or ctx ends (then it returns ctx.Err()). Call it after
// the http.Server's Shutdown. For a synchronous Handler it returns nil at
// once: its events are handled before they are answered. Calling it again
// is safe.
func (h *Handler) Shutdown(ctx context.Context) error {
	if h.async == nil {
		return nil
	}
	return h.async.Shutdown(ctx)
}

// newReceiverIdempotency returns the Idempotency of cfg.Dedupe, or nil
// without it.
func newReceiverIdempotency(cfg ReceiverConfig, logger *slog.Logger) (*Idempotency, error) {
	if cfg.Dedupe == nil {
		if cfg.Idempotency != nil {
			return nil, &ValidationError{Field: "Idempotency", Reason: "set without Dedupe, the store it configures"}
		}
		return nil, nil
	}
	var ic IdempotencyConfig
	if cfg.Idempotency != nil {
		ic = *cfg.Idempotency
	}
	if ic.Logger == nil {
		ic.Logger = logger
	}
	idem, err := NewIdempotency(cfg.Dedupe, &ic)
	if err != nil {
		return nil, prefixField("Idempotency.", err)
	}
	return idem, nil
}

// prefixField returns err with the Field of a *ValidationError prefixed,
// so that it names the field of ReceiverConfig to change.
func prefixField(prefix string, err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return &ValidationError{Field: prefix + ve.Field, Reason: ve.Reason, Err: ve.Err}
	}
	return err
}

// VerifyEvent authenticates and decodes one delivery that did not arrive
// through an http.Handler (a serverless function, a queue that kept the
// request's headers and body): the checks of Middleware, in its order, as
// one call. header holds the request's headers and body its exact bytes;
// for SchemeOnplana, as in Middleware, a match in SignatureHeader or
// PreviousSignatureHeader verifies.
//
// It returns the event, or an error wrapping ErrPayloadTooLarge (body over
// MaxBodyBytes), one of the verification errors (ErrMissingSignature,
// ErrMalformedSignature, ErrSignatureMismatch, and for SchemeStandard
// ErrTimestamp and ErrMessageID), ErrInvalidEnvelope (not an envelope, or
// an event header that disagrees with it) or ErrEventTooOld. Nothing is
// deduplicated: pass the event to an Idempotency-guarded path of your own,
// keyed on e.DeliveryID. VerifyEvent never panics, whatever its input.
func (rv *Receiver) VerifyEvent(header http.Header, body []byte) (*Event, error) {
	if int64(len(body)) > rv.maxBody {
		return nil, fmt.Errorf("%w: %d bytes, over ReceiverConfig.MaxBodyBytes (%d)", ErrPayloadTooLarge, len(body), rv.maxBody)
	}
	if err := rv.verify(header, [][]byte{body}); err != nil {
		return nil, err
	}
	e, err := ParseEvent(body)
	if err != nil {
		return nil, err
	}
	if typ := header.Get(rv.eventHeader); typ != "" && typ != string(e.Type) {
		return nil, fmt.Errorf("%w: %s header disagrees with the envelope's event", ErrInvalidEnvelope, rv.eventHeader)
	}
	if rv.maxAge > 0 && rv.now().Sub(e.Timestamp) > rv.maxAge {
		return nil, fmt.Errorf("%w: timestamp %s is older than ReceiverConfig.MaxEventAge", ErrEventTooOld, e.Timestamp.Format("2006-01-02T15:04:05Z07:00"))
	}
	return e, nil
}

// VerifyEvent checks signature, the value of the X-Onplana-Signature
// header, against body under any of secrets, as Verify does, then decodes
// body with ParseEvent: the one call a handler that is not an http.Handler
// needs, like stripe-go's webhook.ConstructEvent. As with Verify, a
// receiver that holds only a secret in its rotation grace period passes
// the X-Onplana-Signature-Previous value as well, joined with a space. A
// receiver checking many deliveries, reading both headers itself, or using
// SchemeStandard, should keep a Receiver and call its VerifyEvent method,
// which checks both signature headers.
//
// Errors wrap those of Verify (ErrNoSecret, ErrMissingSignature,
// ErrMalformedSignature, ErrSignatureMismatch) or ErrInvalidEnvelope.
// Nothing is decoded before the signature has been checked.
func VerifyEvent(body []byte, signature string, secrets ...Secret) (*Event, error) {
	if err := Verify(body, signature, secrets...); err != nil {
		return nil, err
	}
	return ParseEvent(body)
}
