package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxBodyBytes is the largest request body a Receiver reads: 5 MiB.
const DefaultMaxBodyBytes = 5 << 20

// bodyChunkSize is the size of the pooled chunks a body is read into, unless
// Content-Length says it is smaller. A request that announces a large body
// and stalls holds one chunk: headers alone, which are not authenticated,
// make the server set no more aside.
const bodyChunkSize = 32 << 10

// bodyChunks pools the chunks of bodyChunkSize bytes that readBody fills.
var bodyChunks = sync.Pool{New: func() any { return new([bodyChunkSize]byte) }}

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
	// EventHeader, SignatureHeader and PreviousSignatureHeader name the
	// headers of SchemeOnplana: the event type, the signature under the
	// sender's newest secret, and the signatures under older secrets
	// during a rotation's grace period. A match in either signature header
	// verifies. They default to DefaultEventHeader, DefaultSignatureHeader
	// and DefaultPreviousSignatureHeader.
	EventHeader             string
	SignatureHeader         string
	PreviousSignatureHeader string
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

	// Dedupe, if set, runs the handler of NewHandler at most once per
	// delivery_id (see Idempotency), which every receiver
	// with side effects needs: delivery is at least once. Use
	// NewMemoryDedupeStore for one process, a shared store (pgstore) for
	// several. Receiver.Middleware alone does not deduplicate. Defaults to
	// nil: no deduplication.
	Dedupe DedupeStore
	// Idempotency configures the deduplication of Dedupe; its Logger
	// defaults to the Receiver's. Setting it without Dedupe is an error.
	// Defaults to nil: the defaults of IdempotencyConfig.
	Idempotency *IdempotencyConfig
	// Async, if set, makes the handler of NewHandler asynchronous: each
	// verified (and deduplicated) event is answered 202 and handled later
	// from a bounded queue (see AsyncHandler). Only NewHandler applies it,
	// since its Shutdown owns the workers; NewReceiver refuses it.
	// Defaults to nil: the handler runs before the answer.
	Async *AsyncConfig
	// Observer, if set, is told about rejected requests, duplicates and
	// every run of the event handler, here and in the Idempotency and
	// AsyncHandler behind the Middleware. Defaults to none.
	Observer ReceiverObserver
}

// Receiver authenticates incoming webhook deliveries. Its Middleware reads
// the body under a size cap, verifies the signature over the raw bytes, then
// decodes the envelope; only then does the wrapped handler run. A body that
// Content-Length says is under 32 KiB is read into a buffer of that size;
// any other is read into pooled buffers as its bytes arrive, and copied into
// memory of its own, once and at its exact size, only after its signature
// verifies. A Receiver is safe for concurrent use. NewHandler builds one
// with the rest of the receiving pipeline; use a Receiver directly to nest
// the layers by hand or to verify deliveries that do not arrive over HTTP
// (VerifyEvent).
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
// body when the request's context ends, answering 408: at its deadline, if
// an outer middleware set one, or else at the next bytes read.
type Receiver struct {
	scheme      Scheme
	onplana     *onplanaVerifier
	standard    *standardVerifier
	maxBody     int64
	maxAge      time.Duration
	now         func() time.Time
	eventHeader string
	sigHeader   string
	prevHeader  string
	// The header names above in canonical form, the keys of an
	// http.Header: looking them up directly spares canonicalizing the
	// names on every request, which is all Header.Get adds.
	eventKey string
	sigKey   string
	prevKey  string
	log      *slog.Logger
	idem     *Idempotency // nil without ReceiverConfig.Dedupe
	obs      ReceiverObserver
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
	if cfg.Async != nil {
		return nil, &ValidationError{Field: "Async", Reason: "applies to NewHandler only, whose Shutdown stops the workers"}
	}
	rv := &Receiver{
		scheme:      cfg.Scheme,
		maxBody:     cfg.MaxBodyBytes,
		maxAge:      cfg.MaxEventAge,
		now:         cfg.Now,
		eventHeader: cmp.Or(cfg.EventHeader, DefaultEventHeader),
		sigHeader:   cmp.Or(cfg.SignatureHeader, DefaultSignatureHeader),
		prevHeader:  cmp.Or(cfg.PreviousSignatureHeader, DefaultPreviousSignatureHeader),
		log:         cfg.Logger,
		obs:         cfg.Observer,
	}
	rv.eventKey = http.CanonicalHeaderKey(rv.eventHeader)
	rv.sigKey = http.CanonicalHeaderKey(rv.sigHeader)
	rv.prevKey = http.CanonicalHeaderKey(rv.prevHeader)
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
	if rv.scheme == SchemeOnplana && strings.EqualFold(rv.sigHeader, rv.prevHeader) {
		return nil, &ValidationError{Field: "PreviousSignatureHeader", Reason: "same as SignatureHeader"}
	}
	if rv.log == nil {
		rv.log = slog.Default()
	}
	var err error
	switch rv.scheme {
	case SchemeOnplana:
		rv.onplana, err = newOnplanaVerifier(cfg.Secrets...)
	case SchemeStandard:
		rv.standard, err = newStandardVerifier(&standardConfig{Tolerance: cfg.Tolerance, Now: cfg.Now}, cfg.Secrets...)
	default:
		return nil, &ValidationError{Field: "Scheme", Reason: fmt.Sprintf("unknown scheme %q", string(rv.scheme))}
	}
	if err != nil {
		return nil, fmt.Errorf("%w (ReceiverConfig.Secrets)", err)
	}
	if rv.idem, err = newReceiverIdempotency(cfg, rv.log); err != nil {
		return nil, err
	}
	return rv, nil
}

// received is what the Middleware stores in the request context.
type received struct {
	event *Event
	body  []byte
	obs   ReceiverObserver // the Receiver's; nil when it has none
	// claim is the dedupe claim of the Idempotency running the request,
	// for an AsyncHandler behind it to take over; nil outside one.
	claim *dedupeClaim
	// predecoded holds the event's data as decoded while parsing the
	// envelope, for the Router's handler (see takePredecoded); nil when
	// it was not, or has been taken.
	predecoded atomic.Pointer[predecoded]
	// detached is the room for detach's context.
	detached detachedContext
}

// predecoded is the data of an event decoded by a Router's route.
type predecoded struct{ v any }

type receivedKey struct{}

// receivedRequest is what the Middleware allocates for a verified request,
// in one piece: the event, the context carrying it and the reader of the
// body.
type receivedRequest struct {
	event Event
	ctx   receivedContext
	rec   received
	body  verifiedBody
	pre   predecoded
}

// receivedContext is context.WithValue(parent, receivedKey{}, rec) without
// an allocation of its own.
type receivedContext struct {
	context.Context
	rec *received
}

// Value returns the received request for receivedKey{} and asks the parent
// for any other key.
func (c *receivedContext) Value(key any) any {
	if _, ok := key.(receivedKey); ok {
		return c.rec
	}
	return c.Context.Value(key)
}

// String describes the context as context.WithValue's does.
func (c *receivedContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(webhook.receivedKey, verified event)"
}

// detach returns ctx without its cancellation, as context.WithoutCancel
// does, for the work that must finish after the client went away. For the
// context of a verified request it needs no allocation: the request's
// state has room for it, used once.
func detach(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	if rec := receivedFrom(ctx); rec != nil && rec.detached.Context == nil {
		rec.detached.Context = ctx
		return &rec.detached
	}
	return context.WithoutCancel(ctx)
}

// detachedContext is context.WithoutCancel(Context).
type detachedContext struct{ context.Context }

func (*detachedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*detachedContext) Done() <-chan struct{}       { return nil }
func (*detachedContext) Err() error                  { return nil }

// String describes the context as context.WithoutCancel's does.
func (c *detachedContext) String() string { return fmt.Sprint(c.Context) + ".WithoutCancel" }

// verifiedBody is the request Body the Middleware hands on: the verified
// bytes, as io.NopCloser(bytes.NewReader(body)) would give them.
type verifiedBody struct{ bytes.Reader }

// Close does nothing.
func (*verifiedBody) Close() error { return nil }

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
//   - 401 when the signature headers are missing or blank, before reading
//     the body (for SchemeOnplana, a signature in either SignatureHeader or
//     PreviousSignatureHeader is enough to go on);
//   - 413 when the body exceeds MaxBodyBytes (checked against
//     Content-Length first, then while reading, so a lying Content-Length or
//     an endless chunked body is cut at the cap and never hashed);
//   - 408 when the request's context ends while the body is being read;
//   - 401 when the signatures are malformed or none matches a secret (and, for
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
	return rv.pipeline(next, nil, nil)
}

// serveVerified serves a request that the Middleware verified, whose
// context is ctx, in place of an http.Handler called with a request
// carrying ctx. r is the request as the Middleware got it.
type serveVerified func(ctx context.Context, w http.ResponseWriter, r *http.Request, rec *received)

// eventPipeline returns the rest of Handler(h), the layers behind the
// Middleware, as a serveVerified when it can be one: with no
// ReceiverObserver, which is told about requests and so must get the one
// carrying the event, it runs Idempotency (if any) and ServeEvents in
// turn without the http.Handler between them, which costs a copy of the
// request and a writer recording the status. Otherwise it returns nil.
func (rv *Receiver) eventPipeline(h EventHandler) serveVerified {
	if rv.obs != nil || h == nil {
		return nil
	}
	logger, idem := rv.log, rv.idem
	if idem == nil {
		return func(ctx context.Context, w http.ResponseWriter, _ *http.Request, rec *received) {
			serveEvents(ctx, w, rec, logger, h)
		}
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, rec *received) {
		idem.serveEvent(ctx, w, r, rec, logger, h)
	}
}

// pipeline is Middleware(next) for a next that ends in router, when router
// is not nil: the data of an event that router's handler decodes into its
// type is then decoded while the envelope is parsed, in the pass that
// validates it, rather than in a pass of its own after. When direct is not
// nil, it serves a verified request in place of next, which may then be
// nil.
func (rv *Receiver) pipeline(next http.Handler, router *Router, direct serveVerified) http.Handler {
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
		var partsBuf [16][]byte
		parts, err := rv.readBody(w, r, partsBuf[:0])
		if err != nil {
			releaseChunks(parts)
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				rv.reject(w, r, http.StatusRequestEntityTooLarge, RejectTooLarge, "webhook: body too large", ErrPayloadTooLarge)
			case r.Context().Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
				// The rest of the body is not read: net/http would read it
				// before answering, at the pace the client sends it, and the
				// connection could not serve another request after it.
				w.Header().Set("Connection", "close")
				rv.reject(w, r, http.StatusRequestTimeout, RejectReadTimeout, "webhook: body not received in time", err)
			default:
				rv.reject(w, r, http.StatusBadRequest, RejectUnreadable, "webhook: could not read body", err)
			}
			return
		}
		// Verify before copying a body out of the pool: a forged one costs
		// no memory of its own.
		err = rv.verify(r.Header, parts)
		var body []byte
		switch {
		case err != nil:
		case len(parts) == 1 && !pooled(parts[0]):
			body = parts[0]
		default:
			body = bytes.Join(parts, nil)
		}
		releaseChunks(parts)
		if err != nil {
			msg, reason := "webhook: invalid signature", RejectSignature
			if errors.Is(err, ErrTimestamp) {
				msg, reason = "webhook: signature timestamp outside tolerance", RejectTimestamp
			}
			rv.reject(w, r, http.StatusUnauthorized, reason, msg, err)
			return
		}
		// The event lives in the one allocation of the request's state.
		rr := new(receivedRequest)
		e := &rr.event
		pre, err := parseEvent(body, router, e)
		if err != nil {
			rv.reject(w, r, http.StatusBadRequest, RejectMalformed, "webhook: body is not a valid event envelope", err)
			return
		}
		if typ := headerValue(r.Header, rv.eventKey); typ != "" && typ != string(e.Type) {
			rv.reject(w, r, http.StatusBadRequest, RejectEventMismatch, "webhook: event header does not match the envelope", nil)
			return
		}
		if rv.maxAge > 0 && rv.now().Sub(e.Timestamp) > rv.maxAge {
			rv.reject(w, r, http.StatusBadRequest, RejectTooOld, "webhook: event too old", nil)
			return
		}
		rr.rec = received{event: e, body: body, obs: rv.obs}
		rr.ctx = receivedContext{Context: r.Context(), rec: &rr.rec}
		if pre != nil {
			rr.pre.v = pre
			rr.rec.predecoded.Store(&rr.pre)
		}
		if direct != nil {
			direct(&rr.ctx, w, r, &rr.rec)
			return
		}
		rr.body.Reset(body)
		r = r.WithContext(&rr.ctx)
		r.Body = &rr.body
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// signaturePresent reports ErrMissingSignature when the scheme's signature
// headers are absent or blank. The verifier repeats the check; this one
// only spares reading the body.
func (rv *Receiver) signaturePresent(h http.Header) error {
	if rv.scheme == SchemeStandard {
		if strings.TrimSpace(h.Get(StandardSignatureHeader)) == "" {
			return ErrMissingSignature
		}
		return nil
	}
	if strings.TrimSpace(headerValue(h, rv.sigKey)) == "" && strings.TrimSpace(headerValue(h, rv.prevKey)) == "" {
		return ErrMissingSignature
	}
	return nil
}

// headerValue is h.Get for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// verify checks the signature headers of the scheme over the body held in
// parts, in order. A repeated header is refused rather than guessed at: a
// proxy may have appended one.
func (rv *Receiver) verify(h http.Header, parts [][]byte) error {
	if rv.scheme == SchemeStandard {
		return rv.standard.verifyHeader(parts, h)
	}
	return rv.onplana.verifyHeaderKeys(parts, h, rv.sigHeader, rv.sigKey, rv.prevHeader, rv.prevKey)
}

// readBody reads the whole body, at most rv.maxBody bytes, appends the
// buffers that hold it to parts and returns them, also with an error: the
// caller passes them to releaseChunks. The read is abandoned when the
// request context ends: between two Reads, and during one when the context
// has a deadline.
func (rv *Receiver) readBody(w http.ResponseWriter, r *http.Request, parts [][]byte) ([][]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return parts, nil
	}
	ctx := r.Context()
	if _, ok := ctx.Deadline(); ok {
		// A blocked Read does not watch the context, so the connection's
		// read deadline is moved to now when it ends. Only a context with a
		// deadline, set by an outer middleware, is watched so: the one
		// net/http gives every request ends when the client goes away,
		// which ends a Read too, or after the handler returns, and watching
		// it would cost every request three allocations.
		stop := context.AfterFunc(ctx, func() {
			// Not supported by every ResponseWriter; best effort.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		})
		defer stop()
	}

	// A body that Content-Length says is small, as most deliveries are, is
	// read in place into a buffer of its size (the spare byte lets the
	// final Read report EOF). Anything else, or anything past what the
	// header said, goes into chunks taken as its bytes arrive: the header is
	// not authenticated, so it sizes no more than a chunk, and a large body
	// is never copied from one growing buffer into the next.
	//
	// The cap is enforced by http.MaxBytesReader, which also has the server
	// close the connection after a body over it. A buffer sized from
	// Content-Length, under the cap with its spare byte, cannot take the
	// body over it: the reader is only needed past that buffer.
	var body io.Reader
	read := int64(0) // before body
	if r.ContentLength > 0 && r.ContentLength+1 < bodyChunkSize && r.ContentLength < rv.maxBody {
		parts = append(parts, make([]byte, 0, r.ContentLength+1))
		body, read = r.Body, r.ContentLength+1
	} else {
		body = http.MaxBytesReader(w, r.Body, rv.maxBody)
	}
	for {
		if len(parts) == 0 || len(parts[len(parts)-1]) == cap(parts[len(parts)-1]) {
			if read > 0 { // past the buffer sized from Content-Length
				body, read = http.MaxBytesReader(w, r.Body, rv.maxBody-read), 0
			}
			parts = append(parts, bodyChunks.Get().(*[bodyChunkSize]byte)[:0])
		}
		last := parts[len(parts)-1]
		m, err := body.Read(last[len(last):cap(last)])
		parts[len(parts)-1] = last[:len(last)+m]
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		if err := ctx.Err(); err != nil { // ended without a deadline
			return parts, err
		}
	}
}

// pooled reports whether p, a part of readBody, is a chunk from bodyChunks
// rather than a buffer sized from Content-Length, which is smaller.
func pooled(p []byte) bool { return cap(p) == bodyChunkSize }

// releaseChunks returns the chunks among parts to bodyChunks.
func releaseChunks(parts [][]byte) {
	for _, p := range parts {
		if pooled(p) {
			bodyChunks.Put((*[bodyChunkSize]byte)(p[:bodyChunkSize]))
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

// ServeEvents returns the inner part of NewHandler: an http.Handler that calls
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
		serveEvents(r.Context(), w, rec, logger, h)
	})
}

// serveEvents runs h for rec's event and answers as ServeEvents does, and
// returns the status it answered.
func serveEvents(ctx context.Context, w http.ResponseWriter, rec *received, logger *slog.Logger, h EventHandler) int {
	if err := handle(ctx, h, rec, true); err != nil {
		logEventError(ctx, logger, rec.event, err)
		if isPermanent(err) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(permanentAnswer))
			return http.StatusOK
		}
		http.Error(w, "webhook: event handler failed", http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// PanicError is what an EventHandler's panic becomes. Receiver.ServeEvents
// (and so NewHandler) and AsyncHandler recover the panic, so that one
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
