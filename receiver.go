package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"
)

// DefaultMaxBodyBytes is the largest request body a Receiver reads: 5 MiB.
const DefaultMaxBodyBytes = 5 << 20

// initialBodyBuffer caps the buffer allocated for a body before its bytes
// arrive.
const initialBodyBuffer = 64 << 10

// ReceiverConfig configures a Receiver. Only Secrets is required; every other
// field has a default.
type ReceiverConfig struct {
	// Scheme is the signature format the sender uses: SchemeOnplana (the
	// X-Onplana-Signature header over the raw body) or SchemeStandard
	// (Standard Webhooks headers). Defaults to SchemeOnplana.
	Scheme Scheme
	// Secrets verify the signature; a delivery signed with any of them is
	// accepted, so during a rotation list the new secret and the old one,
	// then remove the old one. At least one; an empty secret is refused
	// (there is no mode that skips verification).
	Secrets []Secret
	// MaxBodyBytes caps the request body. A larger body is answered 413
	// without being hashed. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// EventHeader and SignatureHeader name the headers of SchemeOnplana.
	// They default to DefaultEventHeader and DefaultSignatureHeader.
	EventHeader     string
	SignatureHeader string
	// Tolerance is how far the webhook-timestamp of SchemeStandard may be
	// from now, both ways. Defaults to DefaultTolerance.
	Tolerance time.Duration
	// MaxEventAge, if set, refuses (400) an envelope whose signed timestamp
	// is older than this. SchemeOnplana signs no delivery time, so a
	// captured delivery could be replayed once its delivery_id has left the
	// dedupe store; with MaxEventAge no longer than IdempotencyConfig.TTL,
	// every replay is caught by one check or the other. It must exceed the
	// sender's retry window, and it refuses failed deliveries resent by hand
	// after it, which keep their original timestamp. Defaults to 0: no limit.
	MaxEventAge time.Duration
	// Now returns the current time, for SchemeStandard's timestamp check
	// and MaxEventAge. Defaults to time.Now.
	Now func() time.Time
	// Logger receives one record per rejected request and per handler
	// failure; secrets and bodies are never logged. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Observer, if set, is told about rejected requests, duplicates and
	// every run of the event handler, here and in the Idempotency and
	// AsyncHandler behind the Middleware. Defaults to none.
	Observer ReceiverObserver
}

// Receiver authenticates incoming webhook deliveries. Its Middleware reads
// the body under a size cap, verifies the signature over the raw bytes, then
// decodes the envelope; only then does the wrapped handler run. A Receiver is
// safe for concurrent use.
//
// The Receiver bounds what it reads, not how long reading takes: that is the
// server's job. Mount it on an http.Server with timeouts, for example
//
//	srv := &http.Server{
//		Addr:              ":8080",
//		Handler:           mux,
//		ReadHeaderTimeout: 5 * time.Second,  // slow headers (slowloris)
//		ReadTimeout:       30 * time.Second, // headers and body together
//		WriteTimeout:      60 * time.Second, // must outlast your handler
//		IdleTimeout:       120 * time.Second,
//	}
//
// Without ReadTimeout a client trickling its body a byte at a time holds a
// connection until the size cap is reached. The Middleware also abandons the
// body as soon as the request's context ends (a deadline set by an outer
// middleware, or the connection closing), answering 408.
type Receiver struct {
	scheme      Scheme
	onplana     *Verifier
	standard    *StandardVerifier
	maxBody     int64
	maxAge      time.Duration
	now         func() time.Time
	eventHeader string
	sigHeader   string
	log         *slog.Logger
	obs         ReceiverObserver
}

// NewReceiver returns a Receiver for cfg. It returns an error wrapping
// ErrNoSecret if cfg.Secrets is empty or holds an empty secret, and a
// *ValidationError naming the field for any other invalid field.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("%w: ReceiverConfig.Secrets is empty", ErrNoSecret)
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("%w: ReceiverConfig.Secrets[%d] is empty", ErrNoSecret, i)
		}
	}
	rv := &Receiver{
		scheme:      cfg.Scheme,
		maxBody:     cfg.MaxBodyBytes,
		maxAge:      cfg.MaxEventAge,
		now:         cfg.Now,
		eventHeader: cfg.EventHeader,
		sigHeader:   cfg.SignatureHeader,
		log:         cfg.Logger,
		obs:         cfg.Observer,
	}
	if rv.scheme == "" {
		rv.scheme = SchemeOnplana
	}
	switch {
	case rv.maxBody < 0:
		return nil, &ValidationError{Field: "MaxBodyBytes", Reason: "must not be negative"}
	case rv.maxBody == 0:
		rv.maxBody = DefaultMaxBodyBytes
	}
	if cfg.Tolerance < 0 {
		return nil, &ValidationError{Field: "Tolerance", Reason: "must not be negative"}
	}
	if cfg.MaxEventAge < 0 {
		return nil, &ValidationError{Field: "MaxEventAge", Reason: "must not be negative"}
	}
	if rv.now == nil {
		rv.now = time.Now
	}
	if rv.eventHeader == "" {
		rv.eventHeader = DefaultEventHeader
	}
	if rv.sigHeader == "" {
		rv.sigHeader = DefaultSignatureHeader
	}
	if rv.log == nil {
		rv.log = slog.Default()
	}
	var err error
	switch rv.scheme {
	case SchemeOnplana:
		keys := make([][]byte, len(cfg.Secrets))
		for i, s := range cfg.Secrets {
			keys[i] = []byte(s)
		}
		rv.onplana, err = NewVerifier(keys...)
	case SchemeStandard:
		rv.standard, err = NewStandardVerifier(&StandardVerifierConfig{Tolerance: cfg.Tolerance, Now: cfg.Now}, cfg.Secrets...)
	default:
		return nil, &ValidationError{Field: "Scheme", Reason: fmt.Sprintf("unknown scheme %q", string(rv.scheme))}
	}
	if err != nil {
		return nil, fmt.Errorf("%w (ReceiverConfig.Secrets)", err)
	}
	return rv, nil
}

// received is what the Middleware stores in the request context.
type received struct {
	event *Event
	body  []byte
	obs   ReceiverObserver // the Receiver's; nil when it has none
}

type receivedKey struct{}

// EventFromContext returns the verified event that Receiver.Middleware stored
// in ctx, and whether there was one. Handlers behind the Middleware can rely
// on it; the event is shared and must not be modified.
func EventFromContext(ctx context.Context) (*Event, bool) {
	rec, ok := ctx.Value(receivedKey{}).(*received)
	if !ok {
		return nil, false
	}
	return rec.event, true
}

func receivedFrom(ctx context.Context) *received {
	rec, _ := ctx.Value(receivedKey{}).(*received)
	return rec
}

// Middleware returns a handler that authenticates each request before
// passing it to next. In order, it answers
//
//   - 405 with "Allow: POST" to any method but POST;
//   - 401 when the signature header is missing or blank, before reading
//     the body;
//   - 413 when the body exceeds MaxBodyBytes (checked against
//     Content-Length first, then while reading, so a lying Content-Length or
//     an endless chunked body is cut at the cap and never hashed);
//   - 408 when the request's context ends while the body is being read;
//   - 401 when the signature is malformed or matches no secret (and, for
//     SchemeStandard, when the timestamp is outside the tolerance). The
//     signature is checked over the raw bytes before anything is decoded
//     or routed;
//   - 400 when the verified body is not a valid envelope (see ParseEvent),
//     when an event header is present and disagrees with the envelope's
//     signed "event" field, or when the event is older than MaxEventAge.
//
// Otherwise it calls next with a request whose Body yields exactly the
// verified bytes and whose context carries the decoded event
// (EventFromContext). Error responses are short plain-text messages; they
// never contain secrets or the expected signature.
//
// For SchemeStandard, deduplication keys on the envelope's delivery_id,
// which the signature covers in both schemes; the webhook-id header is
// verified as part of the signed content but not compared with it, so an
// envelope relayed by another Standard Webhooks sender is not refused for
// using its own message ids.
func (rv *Receiver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			rv.reject(w, r, http.StatusMethodNotAllowed, RejectMethod, "webhook: method not allowed, use POST", nil)
			return
		}
		// Refuse early what cannot be valid: no signature means no need to
		// read, let alone hash, an unauthenticated body.
		if err := rv.signaturePresent(r.Header); err != nil {
			rv.reject(w, r, http.StatusUnauthorized, RejectMissingSignature, "webhook: missing signature", err)
			return
		}
		if r.ContentLength > rv.maxBody {
			rv.reject(w, r, http.StatusRequestEntityTooLarge, RejectTooLarge, "webhook: body too large", ErrPayloadTooLarge)
			return
		}
		body, err := rv.readBody(w, r)
		if err != nil {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				rv.reject(w, r, http.StatusRequestEntityTooLarge, RejectTooLarge, "webhook: body too large", ErrPayloadTooLarge)
			case r.Context().Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
				rv.reject(w, r, http.StatusRequestTimeout, RejectReadTimeout, "webhook: body not received in time", err)
			default:
				rv.reject(w, r, http.StatusBadRequest, RejectUnreadable, "webhook: could not read body", err)
			}
			return
		}
		if err := rv.verify(r.Header, body); err != nil {
			msg, reason := "webhook: invalid signature", RejectSignature
			if errors.Is(err, ErrTimestamp) {
				msg, reason = "webhook: signature timestamp outside tolerance", RejectTimestamp
			}
			rv.reject(w, r, http.StatusUnauthorized, reason, msg, err)
			return
		}
		e, err := ParseEvent(body)
		if err != nil {
			rv.reject(w, r, http.StatusBadRequest, RejectMalformed, "webhook: body is not a valid event envelope", err)
			return
		}
		if typ := r.Header.Get(rv.eventHeader); typ != "" && typ != string(e.Type) {
			rv.reject(w, r, http.StatusBadRequest, RejectEventMismatch, "webhook: event header does not match the envelope", nil)
			return
		}
		if rv.maxAge > 0 && rv.now().Sub(e.Timestamp) > rv.maxAge {
			rv.reject(w, r, http.StatusBadRequest, RejectTooOld, "webhook: event too old", nil)
			return
		}
		ctx := context.WithValue(r.Context(), receivedKey{}, &received{event: e, body: body, obs: rv.obs})
		r = r.WithContext(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// signaturePresent reports ErrMissingSignature when the scheme's signature
// header is absent or blank. The verifier repeats the check; this one only
// spares reading the body.
func (rv *Receiver) signaturePresent(h http.Header) error {
	name := rv.sigHeader
	if rv.scheme == SchemeStandard {
		name = StandardSignatureHeader
	}
	if strings.TrimSpace(h.Get(name)) == "" {
		return ErrMissingSignature
	}
	return nil
}

func (rv *Receiver) verify(h http.Header, body []byte) error {
	if rv.scheme == SchemeStandard {
		return rv.standard.VerifyHeader(body, h)
	}
	// A repeated header is refused rather than guessed at, as
	// StandardVerifier.VerifyHeader does: a proxy may have appended one.
	sigs := h.Values(rv.sigHeader)
	if len(sigs) > 1 {
		return fmt.Errorf("%w: %s header sent more than once", ErrMalformedSignature, rv.sigHeader)
	}
	sig := ""
	if len(sigs) == 1 {
		sig = sigs[0]
	}
	return rv.onplana.Verify(body, sig)
}

// readBody reads the whole body, at most rv.maxBody bytes. The read is
// abandoned when the request context ends: a blocked Read does not watch
// the context, so the connection's read deadline is moved to now instead.
func (rv *Receiver) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body := http.MaxBytesReader(w, r.Body, rv.maxBody)
	rc := http.NewResponseController(w)
	stop := context.AfterFunc(r.Context(), func() {
		_ = rc.SetReadDeadline(time.Now()) // not supported by every ResponseWriter; best effort
	})
	defer stop()

	// Size the buffer from Content-Length so that a normal delivery is read
	// without regrowing (the spare byte lets the final Read report EOF), but
	// no larger than initialBodyBuffer: the header is not authenticated,
	// and trusting it would let headers alone make the server allocate
	// MaxBodyBytes per connection. Larger bodies grow the buffer as their
	// bytes actually arrive.
	n := int64(512)
	if r.ContentLength > 0 {
		n = min(r.ContentLength+1, initialBodyBuffer)
	}
	buf := make([]byte, 0, n)
	for {
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow, amortized
		}
	}
}

// reject answers a request that did not pass the Middleware, logs why and
// tells the observer. msg is sent to the client; err, logged, is never
// sent (it could help an attacker tell which check failed beyond what the
// status says).
func (rv *Receiver) reject(w http.ResponseWriter, r *http.Request, status int, reason RejectReason, msg string, err error) {
	if rv.obs != nil {
		rv.obs.RequestRejected(r, status, reason)
	}
	level := slog.LevelWarn
	if status == http.StatusMethodNotAllowed {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.Int("status", status),
		slog.String("remote_addr", r.RemoteAddr),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	rv.log.LogAttrs(r.Context(), level, "webhook: request rejected", attrs...)
	http.Error(w, msg, status)
}

// EventHandler processes one verified event. body is the exact signed
// envelope; e.Data shares memory with it. An error means the event was not
// processed: the sender gets a non-2xx answer and retries later, so
// HandleEvent must tolerate being called again for the same delivery (or
// run behind Idempotency). An error wrapped with Permanent says a retry
// cannot help: the event is acknowledged and not retried.
type EventHandler interface {
	HandleEvent(ctx context.Context, e *Event, body []byte) error
}

// EventHandlerFunc adapts a function to EventHandler, like http.HandlerFunc.
type EventHandlerFunc func(ctx context.Context, e *Event, body []byte) error

// HandleEvent calls f(ctx, e, body).
func (f EventHandlerFunc) HandleEvent(ctx context.Context, e *Event, body []byte) error {
	return f(ctx, e, body)
}

// Handler returns rv.Middleware(rv.ServeEvents(h)): a complete webhook endpoint
// that verifies each request, then calls h with the decoded event.
func (rv *Receiver) Handler(h EventHandler) http.Handler {
	return rv.Middleware(rv.ServeEvents(h))
}

// ServeEvents returns the inner part of Handler: an http.Handler that calls
// h with the event the Middleware put in the request context. Use it to put
// other middleware, such as Idempotency, between the two:
//
//	rv.Middleware(idem.Middleware(rv.ServeEvents(h)))
//
// It answers 204 when h returns nil and 500 when h returns an error or
// panics; the error is logged to the Receiver's Logger, never sent, since it
// may describe the host's internals. An error wrapped with Permanent is
// logged as a warning and answered 200, so that the sender stops retrying
// (see Permanent). A panic with
// http.ErrAbortHandler is re-raised so that net/http aborts the response.
// Without the Middleware in front it answers 500 and h is not called.
func (rv *Receiver) ServeEvents(h EventHandler) http.Handler {
	logger := rv.log
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := receivedFrom(r.Context())
		if rec == nil {
			logger.ErrorContext(r.Context(), "webhook: ServeEvents called without Receiver.Middleware in front")
			http.Error(w, "webhook: receiver misconfigured", http.StatusInternalServerError)
			return
		}
		if h == nil {
			logger.ErrorContext(r.Context(), "webhook: ServeEvents called with a nil EventHandler")
			http.Error(w, "webhook: receiver misconfigured", http.StatusInternalServerError)
			return
		}
		if err := handle(r.Context(), h, rec, true); err != nil {
			logEventError(r.Context(), logger, rec.event, err)
			if isPermanent(err) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(permanentAnswer))
				return
			}
			http.Error(w, "webhook: event handler failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// PanicError is what an EventHandler's panic becomes. Receiver.ServeEvents
// (and so Receiver.Handler) and AsyncHandler recover the panic, so that one
// bad event cannot crash the process, and report it like a returned error:
// in the log, and to AsyncConfig.OnError.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack when it panicked
}

// Error describes the panic value; the stack is in Stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("webhook: event handler panicked: %v", e.Value)
}

// callHandler runs h, turning a panic into a *PanicError. In a request's
// goroutine (inRequest), a panic with http.ErrAbortHandler is re-raised: it
// is net/http's way to abort a response, not a failure of the handler.
func callHandler(ctx context.Context, h EventHandler, rec *received, inRequest bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if inRequest && p == http.ErrAbortHandler {
				panic(p)
			}
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return h.HandleEvent(ctx, rec.event, rec.body)
}

// permanentAnswer is the body of the 200 answer to an event whose handler
// failed permanently: the sender's delivery log keeps it as the response
// snippet, which tells its operator why a success was not processed.
const permanentAnswer = "webhook: event not processed (permanent handler error); do not retry\n"

// logEventError logs a handler's failure: as an error, or as a warning
// when it is permanent (the event is acknowledged and dropped).
func logEventError(ctx context.Context, logger *slog.Logger, e *Event, err error) {
	attrs := []slog.Attr{
		slog.String("delivery_id", e.DeliveryID),
		slog.String("event", string(e.Type)),
		slog.String("error", err.Error()),
	}
	if pe, ok := err.(*PanicError); ok {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	if isPermanent(err) {
		logger.LogAttrs(ctx, slog.LevelWarn, "webhook: event dropped: permanent handler error", attrs...)
		return
	}
	logger.LogAttrs(ctx, slog.LevelError, "webhook: event handler failed", attrs...)
}
