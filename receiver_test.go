package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

const (
	// receiverSecret is the Standard Webhooks specification's example secret;
	// it is also a valid Onplana-scheme secret (its bytes are the key).
	receiverSecret      webhook.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	receiverOtherSecret webhook.Secret = "whsec_dGhpcyBpcyBhbm90aGVyIHRlc3Qgc2VjcmV0IQ=="
)

// envelopeFor returns validEnvelope with its delivery_id set to id.
func envelopeFor(id string) []byte {
	return []byte(strings.Replace(validEnvelope, `"dlv_1"`, `"`+id+`"`, 1))
}

func newReceiver(t testing.TB, cfg webhook.ReceiverConfig) *webhook.Receiver {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = []webhook.Secret{receiverSecret}
	}
	rv, err := webhook.NewReceiver(cfg)
	require.NoError(t, err)
	return rv
}

// signedRequest returns a POST of body signed the way the dispatcher signs
// it, with scheme and secrets.
func signedRequest(t testing.TB, scheme webhook.Scheme, body []byte, secrets ...webhook.Secret) *http.Request {
	t.Helper()
	return signedRequestAt(t, scheme, body, time.Now(), secrets...)
}

// signedRequestAt is signedRequest signing at the time at (which the
// Standard scheme signs).
func signedRequestAt(t testing.TB, scheme webhook.Scheme, body []byte, at time.Time, secrets ...webhook.Secret) *http.Request {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []webhook.Secret{receiverSecret}
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	id := "dlv_1"
	if e, err := webhook.ParseEvent(body); err == nil {
		id = e.DeliveryID
	}
	signer := webhook.Signer{Scheme: scheme}
	require.NoError(t, signer.SignRequest(req.Header, secrets, id, webhook.EventTaskUpdated, at, body))
	return req
}

// recordingHandler records what reaches the handler behind the Middleware.
type recordingHandler struct {
	calls atomic.Int32
	body  chan []byte
	event chan *webhook.Event
}

func newRecordingHandler() *recordingHandler {
	return &recordingHandler{body: make(chan []byte, 16), event: make(chan *webhook.Event, 16)}
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	e, _ := webhook.EventFromContext(r.Context())
	h.body <- b
	h.event <- e
	w.WriteHeader(http.StatusNoContent)
}

func TestReceiverMiddlewareStatus(t *testing.T) {
	t.Parallel()
	body := []byte(validEnvelope)
	tests := []struct {
		name       string
		cfg        webhook.ReceiverConfig
		req        func(t *testing.T) *http.Request
		wantStatus int
		wantText   string // in the response body
	}{
		{
			name:       "valid delivery",
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusNoContent,
		},
		{
			name: "signed with both secrets during rotation",
			req: func(t *testing.T) *http.Request {
				return signedRequest(t, "", body, receiverOtherSecret, receiverSecret)
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name:       "receiver holding old and new secret",
			cfg:        webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverOtherSecret, receiverSecret}},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusNoContent,
		},
		{
			// The newest secret signs X-Onplana-Signature; the receiver's
			// secret is the older one, in X-Onplana-Signature-Previous.
			name: "receiver holding only the old secret during rotation",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body, receiverOtherSecret, receiverSecret)
				require.Equal(t, webhook.Sign(receiverSecret, body), r.Header.Get(webhook.DefaultPreviousSignatureHeader))
				return r
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name: "only the previous header, matching",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body, receiverOtherSecret, receiverSecret)
				r.Header.Del(webhook.DefaultSignatureHeader)
				return r
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name: "previous header sent twice",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body, receiverOtherSecret, receiverSecret)
				r.Header.Add(webhook.DefaultPreviousSignatureHeader, r.Header.Get(webhook.DefaultPreviousSignatureHeader))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "previous header of another secret",
			req: func(t *testing.T) *http.Request {
				return signedRequest(t, "", body, receiverOtherSecret, webhook.NewSecret())
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "custom header names during rotation",
			cfg: webhook.ReceiverConfig{
				SignatureHeader: "X-Acme-Signature", PreviousSignatureHeader: "X-Acme-Signature-Old",
			},
			req: func(t *testing.T) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
				s := webhook.Signer{SignatureHeader: "X-Acme-Signature", PreviousSignatureHeader: "X-Acme-Signature-Old"}
				require.NoError(t, s.SignRequest(r.Header, []webhook.Secret{receiverOtherSecret, receiverSecret}, "dlv_1", webhook.EventTaskUpdated, time.Now(), body))
				return r
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name: "GET",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/hooks", nil)
			},
			wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name: "PUT with a valid signature",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Method = http.MethodPut
				return r
			},
			wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name: "R3 signature header missing",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Del(webhook.DefaultSignatureHeader)
				return r
			},
			wantStatus: http.StatusUnauthorized,
			wantText:   "missing signature",
		},
		{
			name: "R3 signature header empty",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set(webhook.DefaultSignatureHeader, "  ")
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R3 bare sha256= prefix",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set(webhook.DefaultSignatureHeader, "sha256=")
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong secret",
			req: func(t *testing.T) *http.Request {
				return signedRequest(t, "", body, receiverOtherSecret)
			},
			wantStatus: http.StatusUnauthorized,
			wantText:   "invalid signature",
		},
		{
			name:       "old secret removed from the receiver",
			cfg:        webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverOtherSecret}},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R12 weaker scheme sha1=",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set(webhook.DefaultSignatureHeader, "sha1="+webhook.Sign(receiverSecret, body)[:40])
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "signature header sent twice",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Add(webhook.DefaultSignatureHeader, r.Header.Get(webhook.DefaultSignatureHeader))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R2 one byte changed",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				tampered := bytes.Replace(body, []byte("Ship"), []byte("Shiq"), 1)
				r.Body = io.NopCloser(bytes.NewReader(tampered))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R2 keys reordered",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				var m map[string]any
				require.NoError(t, json.Unmarshal(body, &m))
				reordered, err := json.Marshal(m) // sorted keys: same JSON, other bytes
				require.NoError(t, err)
				require.NotEqual(t, string(body), string(reordered))
				r.Body = io.NopCloser(bytes.NewReader(reordered))
				r.ContentLength = int64(len(reordered))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R2 whitespace added",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				spaced := append(append([]byte{}, body...), '\n')
				r.Body = io.NopCloser(bytes.NewReader(spaced))
				r.ContentLength = int64(len(spaced))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "R13 probe with a bad signature and a garbage body is 401 not 400",
			req: func(t *testing.T) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader("{not json"))
				r.Header.Set(webhook.DefaultEventHeader, "admin.delete_everything")
				r.Header.Set(webhook.DefaultSignatureHeader, strings.Repeat("ab", 32))
				return r
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "signed garbage",
			req: func(t *testing.T) *http.Request {
				return signedRequest(t, "", []byte("{not json"))
			},
			wantStatus: http.StatusBadRequest,
			wantText:   "not a valid event envelope",
		},
		{
			name: "signed JSON that is not an envelope",
			req: func(t *testing.T) *http.Request {
				return signedRequest(t, "", []byte(`{"event":"task.updated"}`))
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "event header disagrees with the signed envelope",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set(webhook.DefaultEventHeader, "task.deleted")
				return r
			},
			wantStatus: http.StatusBadRequest,
			wantText:   "does not match",
		},
		{
			name: "event header absent",
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Del(webhook.DefaultEventHeader)
				return r
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name:       "Content-Length over the cap",
			cfg:        webhook.ReceiverConfig{MaxBodyBytes: int64(len(body)) - 1},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusRequestEntityTooLarge,
		},
		{
			name: "body over the cap without Content-Length",
			cfg:  webhook.ReceiverConfig{MaxBodyBytes: int64(len(body)) - 1},
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.ContentLength = -1
				return r
			},
			wantStatus: http.StatusRequestEntityTooLarge,
		},
		{
			name: "body exactly at the cap",
			cfg:  webhook.ReceiverConfig{MaxBodyBytes: int64(len(body))},
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.ContentLength = -1
				return r
			},
			wantStatus: http.StatusNoContent,
		},
		{
			name: "event older than MaxEventAge (replay after the dedupe window)",
			cfg: webhook.ReceiverConfig{MaxEventAge: 72 * time.Hour, Now: func() time.Time {
				return time.Date(2026, 6, 30, 9, 15, 24, 0, time.UTC)
			}},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusBadRequest,
			wantText:   "too old",
		},
		{
			name: "event just within MaxEventAge",
			cfg: webhook.ReceiverConfig{MaxEventAge: 72 * time.Hour, Now: func() time.Time {
				return time.Date(2026, 6, 30, 9, 15, 23, 0, time.UTC)
			}},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusNoContent,
		},
		{
			name:       "custom header names",
			cfg:        webhook.ReceiverConfig{EventHeader: "X-Acme-Event", SignatureHeader: "X-Acme-Signature"},
			req:        func(t *testing.T) *http.Request { return acmeSignedRequest(t, body) },
			wantStatus: http.StatusNoContent,
		},
		{
			name:       "custom header names in lower case",
			cfg:        webhook.ReceiverConfig{EventHeader: "x-acme-event", SignatureHeader: "x-acme-signature", PreviousSignatureHeader: "x-acme-signature-old"},
			req:        func(t *testing.T) *http.Request { return acmeSignedRequest(t, body) },
			wantStatus: http.StatusNoContent,
		},
		{
			name: "custom event header in lower case, disagreeing",
			cfg:  webhook.ReceiverConfig{EventHeader: "x-acme-event"},
			req: func(t *testing.T) *http.Request {
				r := signedRequest(t, "", body)
				r.Header.Set("X-Acme-Event", "task.created")
				return r
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "default header names ignored when custom ones are configured",
			cfg:        webhook.ReceiverConfig{SignatureHeader: "X-Acme-Signature"},
			req:        func(t *testing.T) *http.Request { return signedRequest(t, "", body) },
			wantStatus: http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rv := newReceiver(t, tt.cfg)
			next := newRecordingHandler()
			rec := httptest.NewRecorder()
			req := tt.req(t)
			rv.Middleware(next).ServeHTTP(rec, req)

			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tt.wantText)
			if tt.wantStatus == http.StatusMethodNotAllowed {
				require.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
			}
			if tt.wantStatus != http.StatusNoContent {
				require.Zero(t, next.calls.Load(), "handler must not run")
				return
			}
			require.EqualValues(t, 1, next.calls.Load())
			// R2: the handler gets exactly the verified bytes.
			require.Equal(t, string(body), string(<-next.body))
			e := <-next.event
			require.NotNil(t, e)
			require.Equal(t, "dlv_1", e.DeliveryID)
			require.Equal(t, webhook.EventTaskUpdated, e.Type)
		})
	}
}

// acmeSignedRequest returns a request of body signed by a Signer with the
// header names X-Acme-Event and X-Acme-Signature.
func acmeSignedRequest(t *testing.T, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
	s := webhook.Signer{EventHeader: "X-Acme-Event", SignatureHeader: "X-Acme-Signature"}
	require.NoError(t, s.SignRequest(r.Header, []webhook.Secret{receiverSecret}, "dlv_1", webhook.EventTaskUpdated, time.Now(), body))
	return r
}

func TestReceiverStandardScheme(t *testing.T) {
	t.Parallel()
	body := []byte(validEnvelope)
	now := time.Now().Truncate(time.Second) // the timestamps are whole seconds
	keep := func(*http.Request) {}
	const outsideTolerance = "timestamp outside tolerance"
	tests := []struct {
		name       string
		signedAt   time.Duration // from now
		mutate     func(r *http.Request)
		wantStatus int
		wantBody   string
	}{
		{"valid", 0, keep, http.StatusNoContent, ""},
		{"R3 signature missing", 0, func(r *http.Request) { r.Header.Del(webhook.StandardSignatureHeader) }, http.StatusUnauthorized, ""},
		{"R3 bare v1,", 0, func(r *http.Request) { r.Header.Set(webhook.StandardSignatureHeader, "v1,") }, http.StatusUnauthorized, ""},
		// R7 and R8 are genuine signatures made at the wrong time: only the
		// timestamp check can refuse them.
		{"R7 timestamp too old", -(webhook.DefaultTolerance + time.Second), keep, http.StatusUnauthorized, outsideTolerance},
		{"R7 an hour-old replay", -time.Hour, keep, http.StatusUnauthorized, outsideTolerance},
		{"R7 at the tolerance", -webhook.DefaultTolerance, keep, http.StatusNoContent, ""},
		{"R8 timestamp in the future", webhook.DefaultTolerance + time.Second, keep, http.StatusUnauthorized, outsideTolerance},
		{"R8 at the future edge", webhook.DefaultTolerance, keep, http.StatusNoContent, ""},
		{"R9 timestamp swapped, signature kept", 0, func(r *http.Request) {
			r.Header.Set(webhook.StandardTimestampHeader, fmt.Sprint(now.Add(-time.Minute).Unix()))
		}, http.StatusUnauthorized, ""},
		{"R10 id swapped", 0, func(r *http.Request) { r.Header.Set(webhook.StandardIDHeader, "dlv_2") }, http.StatusUnauthorized, ""},
		{"onplana header alone", 0, func(r *http.Request) {
			r.Header = http.Header{webhook.DefaultSignatureHeader: {webhook.Sign(receiverSecret, body)}}
		}, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rv := newReceiver(t, webhook.ReceiverConfig{Scheme: webhook.SchemeStandard, Now: func() time.Time { return now }})
			next := newRecordingHandler()
			req := signedRequestAt(t, webhook.SchemeStandard, body, now.Add(tt.signedAt))
			tt.mutate(req)
			rec := httptest.NewRecorder()
			rv.Middleware(next).ServeHTTP(rec, req)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tt.wantBody)
			if tt.wantStatus == http.StatusNoContent {
				require.Equal(t, string(body), string(<-next.body))
			} else {
				require.Zero(t, next.calls.Load())
			}
		})
	}
}

func TestNewReceiverRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       webhook.ReceiverConfig
		wantIs    error
		wantField string
	}{
		{"R4 no secrets", webhook.ReceiverConfig{Secrets: []webhook.Secret{}}, webhook.ErrNoSecret, ""},
		{"R4 an empty secret among good ones", webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret, ""}}, webhook.ErrNoSecret, ""},
		{"R4 short secret", webhook.ReceiverConfig{Secrets: []webhook.Secret{"secret"}}, webhook.ErrNoSecret, ""},
		{"R4 standard secret not base64", webhook.ReceiverConfig{Scheme: webhook.SchemeStandard, Secrets: []webhook.Secret{"whsec_!!!!!!!!!!!!!!!!!!!!!!!!"}}, webhook.ErrNoSecret, ""},
		{"unknown scheme", webhook.ReceiverConfig{Scheme: "sha1", Secrets: []webhook.Secret{receiverSecret}}, nil, "Scheme"},
		{"negative MaxBodyBytes", webhook.ReceiverConfig{MaxBodyBytes: -1, Secrets: []webhook.Secret{receiverSecret}}, nil, "MaxBodyBytes"},
		{"negative Tolerance", webhook.ReceiverConfig{Tolerance: -time.Second, Secrets: []webhook.Secret{receiverSecret}}, nil, "Tolerance"},
		{"negative MaxEventAge", webhook.ReceiverConfig{MaxEventAge: -time.Second, Secrets: []webhook.Secret{receiverSecret}}, nil, "MaxEventAge"},
		{"previous header same as signature header", webhook.ReceiverConfig{PreviousSignatureHeader: "x-onplana-signature", Secrets: []webhook.Secret{receiverSecret}}, nil, "PreviousSignatureHeader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rv, err := webhook.NewReceiver(tt.cfg)
			require.Error(t, err)
			require.Nil(t, rv)
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			if tt.wantField != "" {
				var ve *webhook.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tt.wantField, ve.Field)
			}
			require.NotContains(t, err.Error(), string(receiverSecret))
		})
	}
}

func TestReceiverHandler(t *testing.T) {
	t.Parallel()
	body := []byte(validEnvelope)
	tests := []struct {
		name       string
		handle     webhook.EventHandlerFunc
		wantStatus int
	}{
		{"nil error answers 204", func(context.Context, *webhook.Event, []byte) error { return nil }, http.StatusNoContent},
		{"error answers 500 without its text", func(context.Context, *webhook.Event, []byte) error {
			return errors.New("db password is hunter2")
		}, http.StatusInternalServerError},
		{"panic answers 500", func(context.Context, *webhook.Event, []byte) error { panic("boom: hunter2") }, http.StatusInternalServerError},
		{"permanent error answers 200 without its text", func(context.Context, *webhook.Event, []byte) error {
			return fmt.Errorf("task: %w", webhook.Permanent(errors.New("project deleted, password hunter2")))
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(&logs)})
			got := make(chan *webhook.Event, 1)
			h := rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, b []byte) error {
				require.Equal(t, string(body), string(b))
				ce, ok := webhook.EventFromContext(ctx)
				require.True(t, ok)
				require.Same(t, e, ce)
				got <- e
				return tt.handle(ctx, e, b)
			})))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, signedRequest(t, "", body))
			require.Equal(t, tt.wantStatus, rec.Code)
			require.NotContains(t, rec.Body.String(), "hunter2")
			require.Equal(t, "dlv_1", (<-got).DeliveryID)
			if tt.wantStatus != http.StatusNoContent {
				require.Contains(t, logs.String(), "hunter2", "the error is logged for the host")
				require.Contains(t, logs.String(), "dlv_1")
			}
			if tt.wantStatus == http.StatusOK {
				require.Contains(t, rec.Body.String(), "not processed", "the sender's log says why")
				require.Contains(t, logs.String(), "level=WARN msg=\"webhook: event dropped: permanent handler error\"")
			}
			require.NotContains(t, logs.String(), string(receiverSecret))
		})
	}
}

func TestServeEventsWithoutMiddleware(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	called := false
	h := rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		called = true
		return nil
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signedRequest(t, "", []byte(validEnvelope)))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.False(t, called)
}

// endlessReader yields 'a' forever and counts what it gave.
type endlessReader struct{ n atomic.Int64 }

func (r *endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

// TestReceiverEndlessBody is R14 and R15: a body that never ends, with no
// or a lying Content-Length, is cut at the cap, and memory stays flat. Not
// parallel: it reads the process's allocation counter.
func TestReceiverEndlessBody(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name          string
		contentLength int64
	}{
		{"chunked, no Content-Length", -1},
		{"Content-Length lies low", 100},
		{"Content-Length says 8 GiB", 8 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := newReceiver(t, webhook.ReceiverConfig{MaxBodyBytes: limit, Logger: newReceiverTestLogger(io.Discard)})
			next := newRecordingHandler()
			alloc := allocatedBy(func() {
				src := &endlessReader{}
				req := httptest.NewRequest(http.MethodPost, "/hooks", src)
				req.ContentLength = tt.contentLength
				req.Header.Set(webhook.DefaultSignatureHeader, strings.Repeat("ab", 32))
				rec := httptest.NewRecorder()
				rv.Middleware(next).ServeHTTP(rec, req)

				require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
				require.LessOrEqual(t, src.n.Load(), int64(limit+64<<10), "read far past the cap")
			})
			require.Zero(t, next.calls.Load())
			require.Less(t, alloc, uint64(8*limit), "memory grew with the body")
		})
	}
}

// TestReceiverEndlessBodyOverTheWire sends R14/R15 bodies to a real server
// over raw TCP, so that nothing on the client side tidies them up.
func TestReceiverEndlessBodyOverTheWire(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, webhook.ReceiverConfig{MaxBodyBytes: 64 << 10, Logger: newReceiverTestLogger(io.Discard)})
	next := newRecordingHandler()
	srv := httptest.NewServer(rv.Middleware(next))
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		headers string
		chunk   string // written repeatedly until the server stops reading
	}{
		{"endless chunked body", "Transfer-Encoding: chunked\r\n", "4000\r\n" + strings.Repeat("a", 0x4000) + "\r\n"},
		{"Content-Length of 10 GB", "Content-Length: 10000000000\r\n", strings.Repeat("a", 16<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			t.Cleanup(func() { conn.Close() })
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))

			_, err = fmt.Fprintf(conn, "POST /hooks HTTP/1.1\r\nHost: x\r\n%s%s: %s\r\n\r\n",
				tt.headers, webhook.DefaultSignatureHeader, strings.Repeat("ab", 32))
			require.NoError(t, err)
			writerDone := make(chan struct{})
			go func() { // write until the server closes the connection
				defer close(writerDone)
				for {
					if _, err := io.WriteString(conn, tt.chunk); err != nil {
						return
					}
				}
			}()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			conn.Close()
			testwait.Recv(t, writerDone, "writer did not stop")
			require.Zero(t, next.calls.Load())
		})
	}
}

// TestReceiverSlowBody is R16: a body trickled a byte at a time is
// abandoned when the server's ReadTimeout passes or when the request's
// context ends, with a deadline or without, and the handler never runs.
func TestReceiverSlowBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(srv *httptest.Server, h http.Handler)
	}{
		{"server ReadTimeout", func(srv *httptest.Server, h http.Handler) {
			srv.Config.ReadTimeout = 300 * time.Millisecond
			srv.Config.Handler = h
		}},
		{"request context deadline", func(srv *httptest.Server, h http.Handler) {
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
				defer cancel()
				h.ServeHTTP(w, r.WithContext(ctx))
			})
		}},
		{"request context canceled, no deadline", func(srv *httptest.Server, h http.Handler) {
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				stop := time.AfterFunc(300*time.Millisecond, cancel)
				defer stop.Stop()
				h.ServeHTTP(w, r.WithContext(ctx))
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
			next := newRecordingHandler()
			srv := httptest.NewUnstartedServer(nil)
			tt.setup(srv, rv.Middleware(next))
			srv.Start()
			t.Cleanup(srv.Close)

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			t.Cleanup(func() { conn.Close() })
			body := []byte(validEnvelope)
			_, err = fmt.Fprintf(conn, "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s: %s\r\n\r\n%s",
				len(body), webhook.DefaultSignatureHeader, webhook.Sign(receiverSecret, body), body[:10])
			require.NoError(t, err)

			// Trickle one byte at a time, slower than the deadline allows in
			// total, until the server gives up.
			trickle(t, conn, body[10:], 50*time.Millisecond)

			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			start := time.Now()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err, "the server answers before closing")
			resp.Body.Close()
			require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			require.True(t, resp.Close, "the connection, its body half read, is closed")
			require.Less(t, time.Since(start), 5*time.Second, "the trickle was not abandoned")
			require.Zero(t, next.calls.Load())
		})
	}
}

// trickle writes data to conn one byte per interval, from a goroutine the
// test's cleanup stops, until done or the server hangs up.
func trickle(t *testing.T, conn net.Conn, data []byte, interval time.Duration) {
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := range data {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write(data[i : i+1]); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-trickled })
}

// TestReceiverTrickledHeadersTimeOut checks the other half of R16
// (slowloris): a client trickling its headers a byte at a time is cut off
// by the ReadHeaderTimeout the docs set on the server (scaled down here),
// before the Receiver, whose handler never runs.
func TestReceiverTrickledHeadersTimeOut(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	next := newRecordingHandler()
	srv := httptest.NewUnstartedServer(rv.Middleware(next))
	srv.Config.ReadHeaderTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	headers := "POST /hooks HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("a", 200) + "\r\n"
	trickle(t, conn, []byte(headers), 20*time.Millisecond)

	// The server closes the connection (net/http sends nothing back for a
	// request whose headers never arrived in time). A close with our late
	// bytes unread in its socket is a reset rather than an EOF: both mean
	// the server hung up; only our own read deadline would mean it did not.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if !errors.Is(err, syscall.ECONNRESET) {
		require.NoError(t, err, "the server closed the connection, not our read deadline")
	}
	require.Less(t, time.Since(start), 3*time.Second, "the trickle was not abandoned")
	require.Zero(t, next.calls.Load())
}

// TestReceiverDoesNotTrustContentLength checks that a Content-Length just
// under the cap, sent by an unauthenticated client, does not make the
// server allocate the cap before the bytes arrive. Not parallel: it reads
// the process's allocation counter.
func TestReceiverDoesNotTrustContentLength(t *testing.T) {
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	next := newRecordingHandler()
	alloc := allocatedBy(func() {
		req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(validEnvelope))
		req.ContentLength = webhook.DefaultMaxBodyBytes
		req.Header.Set(webhook.DefaultSignatureHeader, strings.Repeat("ab", 32))
		rec := httptest.NewRecorder()
		rv.Middleware(next).ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
	})
	require.Less(t, alloc, uint64(webhook.DefaultMaxBodyBytes/4))
}

// TestReceiverPassesTheExactBody checks that bodies on either side of the
// sizes where reading changes buffers reach the handler byte for byte,
// whatever Content-Length says: exact, absent, too low or too high.
func TestReceiverPassesTheExactBody(t *testing.T) {
	t.Parallel()
	const chunk = 32 << 10 // the Receiver's pooled chunk size
	sizes := []int{len(validEnvelope) + 10, chunk - 2, chunk - 1, chunk, chunk + 1, 2 * chunk, 1<<20 + 7}
	lengths := []struct {
		name string
		of   func(n int) int64
	}{
		{"exact", func(n int) int64 { return int64(n) }},
		{"absent", func(int) int64 { return -1 }},
		{"too low", func(int) int64 { return 100 }},
		{"too high", func(n int) int64 { return int64(n) + 1000 }},
	}
	for _, size := range sizes {
		body := envelopeOfSize(size)
		require.Len(t, body, size)
		for _, cl := range lengths {
			t.Run(fmt.Sprintf("%d bytes/Content-Length %s", size, cl.name), func(t *testing.T) {
				t.Parallel()
				rv := newReceiver(t, webhook.ReceiverConfig{})
				got := make(chan []byte, 1)
				h := rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(_ context.Context, _ *webhook.Event, body []byte) error {
					got <- body
					return nil
				})))
				req := signedRequest(t, webhook.SchemeOnplana, body)
				req.ContentLength = cl.of(len(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
				require.Equal(t, body, <-got)
			})
		}
	}
}

// envelopeOfSize returns validEnvelope padded to n bytes, at least
// len(validEnvelope)+10, by a note in its data.
func envelopeOfSize(n int) []byte {
	note := `"note":"` + strings.Repeat("a", n-len(validEnvelope)-len(`"note":"",`)) + `",`
	return []byte(strings.Replace(validEnvelope, `"data":{`, `"data":{`+note, 1))
}

// TestReceiverStalledBodyAllocatesLittle checks that headers alone do not
// make the server set memory aside: a client announces Content-Length:
// 5 MiB, sends 10 bytes and stalls, and while its request waits, the whole
// process (server and client, over a real connection) has allocated less
// than 64 KiB for it: a pooled chunk of 32 KiB and net/http's own buffers,
// nothing in proportion to what was announced. Not parallel: it reads the
// process's allocation counter.
func TestReceiverStalledBodyAllocatesLittle(t *testing.T) {
	rv := newReceiver(t, webhook.ReceiverConfig{Logger: newReceiverTestLogger(io.Discard)})
	next := newRecordingHandler()
	mw := rv.Middleware(next)
	stalled := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &stallReporter{ReadCloser: r.Body, after: 10, stalled: stalled}
		mw.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	const request = "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n%s: %s\r\n\r\n0123456789"
	sig := webhook.Sign(receiverSecret, []byte(validEnvelope))
	alloc := allocatedBy(func() {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = fmt.Fprintf(conn, request, webhook.DefaultSignatureHeader, sig)
		require.NoError(t, err)
		testwait.Recv(t, stalled, "the server did not wait for the rest of the body")
	})
	require.Less(t, alloc, uint64(64<<10))
	require.Zero(t, next.calls.Load())
}

// stallReporter reports on stalled once its request body has yielded after
// bytes and is read again: the reader then waits for bytes the client will
// not send.
type stallReporter struct {
	io.ReadCloser
	after   int
	n       int
	stalled chan<- struct{}
}

func (s *stallReporter) Read(p []byte) (int, error) {
	if s.n >= s.after {
		select {
		case s.stalled <- struct{}{}:
		default:
		}
	}
	n, err := s.ReadCloser.Read(p)
	s.n += n
	return n, err
}

// TestReceiverCopiesOnlyVerifiedBodies checks what a large body costs: a
// verified body is copied once out of the pooled buffers it was read into,
// into memory of about its size, and a forged one is refused without being
// copied out of them. Not parallel: it reads the process's allocation
// counter.
func TestReceiverCopiesOnlyVerifiedBodies(t *testing.T) {
	body := envelopeOfSize(1 << 20)
	size := uint64(len(body))
	tests := []struct {
		name     string
		scheme   webhook.Scheme
		secret   webhook.Secret
		status   int
		min, max uint64 // bounds on the bytes allocated per request
	}{
		{"onplana, verified", webhook.SchemeOnplana, receiverSecret, http.StatusNoContent, size, size * 3 / 2},
		{"onplana, forged", webhook.SchemeOnplana, receiverOtherSecret, http.StatusUnauthorized, 0, size / 2},
		{"standard, verified", webhook.SchemeStandard, receiverSecret, http.StatusNoContent, size, size * 3 / 2},
		{"standard, forged", webhook.SchemeStandard, receiverOtherSecret, http.StatusUnauthorized, 0, size / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := newReceiver(t, webhook.ReceiverConfig{Scheme: tt.scheme, Logger: newReceiverTestLogger(io.Discard)})
			h := rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil })))
			req := signedRequest(t, tt.scheme, body, tt.secret)
			alloc := allocatedBy(func() {
				req.Body = io.NopCloser(bytes.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, tt.status, rec.Code)
			})
			require.GreaterOrEqual(t, alloc, tt.min)
			require.Less(t, alloc, tt.max)
		})
	}
}

// allocatedBy returns the bytes the process allocated while f ran, the
// least of three runs, so that a stray allocation elsewhere in the test
// binary does not fail the caller.
func allocatedBy(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// TestReceiverRefusesSwappedDeliveryID is SECURITY.md's R10 for the Onplana
// scheme: a replayed delivery whose delivery_id was changed to dodge the
// dedupe store no longer matches its signature, because the id is inside
// the signed body; the handler never runs.
func TestReceiverRefusesSwappedDeliveryID(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, webhook.ReceiverConfig{})
	h := newRecordingHandler()
	srv := rv.Middleware(h)

	original := envelopeFor("dlv_original")
	req := signedRequest(t, webhook.SchemeOnplana, original)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNoContent, rec.Code, "the genuine delivery is accepted")

	swapped := envelopeFor("dlv_swapped1") // same length: only the id differs
	replay := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(swapped))
	replay.Header = req.Header.Clone() // the captured, genuine signature
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, replay)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Equal(t, int32(1), h.calls.Load(), "the handler ran for the genuine delivery only")
	require.ErrorIs(t, webhook.Verify(swapped, req.Header.Get(webhook.DefaultSignatureHeader), receiverSecret),
		webhook.ErrSignatureMismatch)
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	require.NoError(t, webhook.Permanent(nil))
	cause := errors.New("no such project")
	err := fmt.Errorf("sync task: %w", webhook.Permanent(cause))
	var pe *webhook.PermanentError
	require.ErrorAs(t, err, &pe)
	require.Same(t, cause, pe.Err)
	require.ErrorIs(t, err, cause)
	require.EqualError(t, err, "sync task: webhook: permanent: no such project")
}
