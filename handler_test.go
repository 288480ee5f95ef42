package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// discard is the logger of receivers whose logs the test does not read.
var discard = slog.New(slog.DiscardHandler)

// delivery returns the test envelope with its delivery_id and task title.
func delivery(id, title string) []byte {
	return []byte(strings.Replace(string(envelopeFor(id)), `"title":"Ship"`, `"title":"`+title+`"`, 1))
}

// NewHandler builds verify → dedupe → handler: every answer below needs
// the three layers in that order.
func TestNewHandlerPipeline(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{receiverSecret},
		Dedupe:  webhook.NewMemoryDedupeStore(0),
		Logger:  discard,
	}, sequenceHandler(&calls, new(atomic.Int32)))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	steps := []struct {
		name      string
		req       *http.Request
		want      int
		wantCalls int32
	}{
		{"first delivery", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_a", "ok")), http.StatusNoContent, 1},
		{"its retry is not run again", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_a", "ok")), http.StatusOK, 1},
		{"a forgery is refused before dedupe", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_b", "ok"), receiverOtherSecret), http.StatusUnauthorized, 1},
		{"so the real one still runs", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_b", "ok")), http.StatusNoContent, 2},
		{"a failure answers 500", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_c", "fail")), http.StatusInternalServerError, 3},
		{"and its retry runs again", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_c", "fail")), http.StatusInternalServerError, 4},
		{"a permanent failure is acknowledged", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_d", "permanent")), http.StatusOK, 5},
		{"and done", signedRequest(t, webhook.SchemeOnplana, delivery("dlv_d", "permanent")), http.StatusOK, 5},
	}
	for _, s := range steps {
		require.Equal(t, s.want, post(t, srv.URL, s.req), s.name)
		require.Equal(t, s.wantCalls, calls.Load(), s.name)
	}
	require.NoError(t, h.Shutdown(context.Background()), "a synchronous Handler has nothing to drain")
}

func TestNewHandlerAsync(t *testing.T) {
	t.Parallel()
	entered := make(chan string, 4)
	proceed := make(chan struct{})
	r := webhook.NewRouter()
	webhook.Handle(r, webhook.EventTaskUpdated, func(_ context.Context, e *webhook.Event, _ *taskData) error {
		entered <- e.DeliveryID
		<-proceed
		return nil
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{receiverSecret},
		Dedupe:  webhook.NewMemoryDedupeStore(0),
		Async:   &webhook.AsyncConfig{Workers: 1},
		Logger:  discard,
	}, r)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	require.Equal(t, http.StatusAccepted, post(t, srv.URL, signedRequest(t, webhook.SchemeOnplana, delivery("dlv_q", "ok"))))
	require.Equal(t, "dlv_q", receiveWithin(t, entered, "the queued event"))
	require.Equal(t, http.StatusConflict, post(t, srv.URL, signedRequest(t, webhook.SchemeOnplana, delivery("dlv_q", "ok"))),
		"a duplicate of a queued delivery waits for it")
	close(proceed)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx), "Shutdown waits for the queue")
	require.Equal(t, http.StatusOK, post(t, srv.URL, signedRequest(t, webhook.SchemeOnplana, delivery("dlv_q", "ok"))),
		"handled, so marked done")
	require.Equal(t, http.StatusServiceUnavailable, post(t, srv.URL, signedRequest(t, webhook.SchemeOnplana, delivery("dlv_r", "ok"))),
		"after Shutdown, new deliveries are refused for the sender to retry")
}

// Each configuration error names the field of ReceiverConfig to change.
func TestNewHandlerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ok := webhook.NewRouter()
	secrets := []webhook.Secret{receiverSecret}
	store := webhook.NewMemoryDedupeStore(0)
	tests := []struct {
		name      string
		cfg       webhook.ReceiverConfig
		h         webhook.EventHandler
		wantField string
		wantErr   error
	}{
		{"nil handler", webhook.ReceiverConfig{Secrets: secrets}, nil, "h", nil},
		{"no secret", webhook.ReceiverConfig{}, ok, "", webhook.ErrNoSecret},
		{"Idempotency without Dedupe", webhook.ReceiverConfig{Secrets: secrets, Idempotency: &webhook.IdempotencyConfig{}}, ok, "Idempotency", nil},
		{"negative TTL", webhook.ReceiverConfig{Secrets: secrets, Dedupe: store, Idempotency: &webhook.IdempotencyConfig{TTL: -time.Hour}}, ok, "Idempotency.TTL", nil},
		{"negative queue", webhook.ReceiverConfig{Secrets: secrets, Async: &webhook.AsyncConfig{QueueSize: -1}}, ok, "Async.QueueSize", nil},
		{"negative body cap", webhook.ReceiverConfig{Secrets: secrets, MaxBodyBytes: -1}, ok, "MaxBodyBytes", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := webhook.NewHandler(tt.cfg, tt.h)
			require.Nil(t, h)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantField, ve.Field)
		})
	}

	// The async queue needs an owner to stop it: NewReceiver refuses it.
	_, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: secrets, Async: &webhook.AsyncConfig{}})
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Async", ve.Field)
	require.Contains(t, err.Error(), "NewHandler")
}

// VerifyEvent makes the Middleware's checks in one call: it refuses what
// the Middleware refuses, with an error saying why.
func TestReceiverVerifyEvent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 10, 0, 0, 0, time.UTC)
	rv := newReceiver(t, webhook.ReceiverConfig{MaxBodyBytes: 1024, MaxEventAge: time.Hour, Now: func() time.Time { return now }, Logger: discard})
	valid := []byte(validEnvelope)
	signed := func(body []byte, secrets ...webhook.Secret) *http.Request {
		return signedRequest(t, webhook.SchemeOnplana, body, secrets...)
	}
	old := []byte(strings.Replace(validEnvelope, "2026-06-27T09:15:23Z", "2026-06-27T08:00:00Z", 1))
	large := []byte(strings.Replace(validEnvelope, `"Ship"`, `"`+strings.Repeat("x", 1024)+`"`, 1))
	tests := []struct {
		name       string
		req        *http.Request
		want       error
		wantStatus int
	}{
		{"valid", signed(valid), nil, http.StatusNoContent},
		{"no signature", func() *http.Request {
			r := signed(valid)
			r.Header.Del(webhook.DefaultSignatureHeader)
			return r
		}(), webhook.ErrMissingSignature, http.StatusUnauthorized},
		{"another secret", signed(valid, receiverOtherSecret), webhook.ErrSignatureMismatch, http.StatusUnauthorized},
		{"too large", signed(large), webhook.ErrPayloadTooLarge, http.StatusRequestEntityTooLarge},
		{"not an envelope", signed([]byte(`{"event":"task.updated"}`)), webhook.ErrInvalidEnvelope, http.StatusBadRequest},
		{"event header disagrees", func() *http.Request {
			r := signed(valid)
			r.Header.Set(webhook.DefaultEventHeader, "task.deleted")
			return r
		}(), webhook.ErrInvalidEnvelope, http.StatusBadRequest},
		{"too old", signed(old), webhook.ErrEventTooOld, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := readAll(t, tt.req)
			e, err := rv.VerifyEvent(tt.req.Header, body)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, "dlv_1", e.DeliveryID)
			} else {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, e)
			}

			// The Middleware answers the same request accordingly.
			tt.req.Body = http.NoBody
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			req.Header = tt.req.Header
			w := httptest.NewRecorder()
			rv.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil }))).ServeHTTP(w, req)
			require.Equal(t, tt.wantStatus, w.Code)
		})
	}
}

func TestVerifyEvent(t *testing.T) {
	t.Parallel()
	body := []byte(validEnvelope)
	sig := webhook.Sign(receiverSecret, body)
	tests := []struct {
		name    string
		body    []byte
		sig     string
		secrets []webhook.Secret
		want    error
	}{
		{"valid", body, sig, []webhook.Secret{receiverSecret}, nil},
		{"rotation: either secret", body, sig, []webhook.Secret{receiverOtherSecret, receiverSecret}, nil},
		{"wrong secret", body, sig, []webhook.Secret{receiverOtherSecret}, webhook.ErrSignatureMismatch},
		{"no secret", body, sig, nil, webhook.ErrNoSecret},
		{"missing signature", body, "", []webhook.Secret{receiverSecret}, webhook.ErrMissingSignature},
		{"tampered body", append([]byte(" "), body...), sig, []webhook.Secret{receiverSecret}, webhook.ErrSignatureMismatch},
		{"signed, but not an envelope", []byte(`{}`), webhook.Sign(receiverSecret, []byte(`{}`)), []webhook.Secret{receiverSecret}, webhook.ErrInvalidEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := webhook.VerifyEvent(tt.body, tt.sig, tt.secrets...)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, e)
				return
			}
			require.NoError(t, err)
			require.Equal(t, webhook.EventTaskUpdated, e.Type)
		})
	}
}

func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return b
}

// Behind the Receiver, over HTTP: a routed handler's error is a 500 and
// an unknown type is acknowledged, never a 4xx.
func TestRouterBehindTheReceiver(t *testing.T) {
	t.Parallel()
	r := webhook.NewRouter()
	webhook.Handle(r, webhook.EventTaskUpdated, func(_ context.Context, _ *webhook.Event, data *taskData) error {
		if data.Task.Title == "fail" {
			return errors.New("fail")
		}
		return nil
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret}, Logger: discard}, r)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, tt := range []struct {
		typ, title string
		want       int
	}{
		{"task.updated", "ok", http.StatusNoContent},
		{"task.updated", "fail", http.StatusInternalServerError},
		{"task.archived", "added to the catalog after this receiver was built", http.StatusNoContent},
	} {
		body := strings.NewReplacer("task.updated", tt.typ, `"title":"Ship"`, `"title":"`+tt.title+`"`).Replace(validEnvelope)
		req := signedRequest(t, webhook.SchemeOnplana, []byte(body))
		req.Header.Set(webhook.DefaultEventHeader, tt.typ)
		require.Equal(t, tt.want, post(t, srv.URL, req), "%s %s", tt.typ, tt.title)
	}
}

// post sends req, made with httptest.NewRequest, to url and returns the
// status.
func post(t *testing.T, url string, req *http.Request) int {
	t.Helper()
	out, err := http.NewRequest(req.Method, url, req.Body)
	require.NoError(t, err)
	out.Header = req.Header
	resp, err := http.DefaultClient.Do(out)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode
}

// sequenceHandler answers the events of a test from their task titles:
// "fail" an error, "permanent" a permanent one, "panic" a panic, "abort"
// a panic with http.ErrAbortHandler; it records the context's event.
func sequenceHandler(calls *atomic.Int32, sawEvent *atomic.Int32) webhook.EventHandler {
	r := webhook.NewRouter()
	webhook.Handle(r, webhook.EventTaskUpdated, func(ctx context.Context, e *webhook.Event, data *taskData) error {
		calls.Add(1)
		if got, ok := webhook.EventFromContext(ctx); ok && got == e {
			sawEvent.Add(1)
		}
		switch data.Task.Title {
		case "fail":
			return errors.New("downstream unavailable")
		case "permanent":
			return webhook.Permanent(errors.New("project deleted here"))
		case "panic":
			panic("handler bug")
		case "abort":
			panic(http.ErrAbortHandler)
		}
		return nil
	})
	return r
}

// TestNewHandlerMatchesTheNestedLayers: NewHandler without an observer
// runs its layers without the http.Handler between them; it answers every
// step of a delivery's life as the layers nested by hand do, status, body
// and handler runs alike.
func TestNewHandlerMatchesTheNestedLayers(t *testing.T) {
	t.Parallel()
	steps := []struct{ id, title string }{
		{"dlv_a", "ok"}, {"dlv_a", "ok"},
		{"dlv_b", "fail"}, {"dlv_b", "fail"}, {"dlv_b", "ok"}, {"dlv_b", "ok"},
		{"dlv_c", "permanent"}, {"dlv_c", "ok"},
		{"dlv_d", "panic"}, {"dlv_d", "ok"}, {"dlv_d", "ok"},
		{"dlv_e", "abort"}, {"dlv_e", "ok"}, {"dlv_e", "ok"},
	}
	type answer struct {
		status  int
		body    string
		aborted bool
	}
	run := func(h http.Handler) []answer {
		var out []answer
		for _, s := range steps {
			rec := httptest.NewRecorder()
			aborted := func() (aborted bool) {
				defer func() {
					if p := recover(); p != nil {
						require.Equal(t, http.ErrAbortHandler, p)
						aborted = true
					}
				}()
				h.ServeHTTP(rec, signedRequest(t, webhook.SchemeOnplana, delivery(s.id, s.title)))
				return false
			}()
			out = append(out, answer{rec.Code, rec.Body.String(), aborted})
		}
		return out
	}
	for _, dedupe := range []bool{true, false} {
		cfg := func() webhook.ReceiverConfig {
			cfg := webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret}, Logger: discard}
			if dedupe {
				cfg.Dedupe = webhook.NewMemoryDedupeStore(0)
			}
			return cfg
		}
		var fusedCalls, fusedSaw, nestedCalls, nestedSaw atomic.Int32
		fused, err := webhook.NewHandler(cfg(), sequenceHandler(&fusedCalls, &fusedSaw))
		require.NoError(t, err)
		c := cfg()
		rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: c.Secrets, Logger: discard})
		require.NoError(t, err)
		nestedHandler := sequenceHandler(&nestedCalls, &nestedSaw)
		inner := rv.ServeEvents(nestedHandler)
		if dedupe {
			idem, err := webhook.NewIdempotency(c.Dedupe, &webhook.IdempotencyConfig{Logger: discard})
			require.NoError(t, err)
			inner = idem.Middleware(inner)
		}
		nested := rv.Middleware(inner)

		want := run(nested)
		require.Equal(t, want, run(fused), "dedupe %v", dedupe)
		require.Equal(t, nestedCalls.Load(), fusedCalls.Load(), "dedupe %v", dedupe)
		require.Equal(t, fusedCalls.Load(), fusedSaw.Load(), "the handler's context carries the event")
		if dedupe {
			require.Equal(t, http.StatusOK, want[1].status, "a retry of a success is not run")
			require.Equal(t, http.StatusNoContent, want[4].status, "a retry after a failure runs")
			require.Equal(t, http.StatusNoContent, want[12].status, "a retry after an abort runs")
		}
	}
}

// TestReceivingAllocatesWithinBudget counts the allocations of a delivery
// through NewHandler with a MemoryDedupeStore and a Router of a typed
// handler, as receiverbench's BenchmarkReceive sends it, with a context
// that can end as net/http gives: the body, the request's state (event,
// context, received), the payload with its actor and list, and the
// strings of the envelope and the payload; the diff shares the body's
// bytes. More means a change added work to every delivery.
func TestReceivingAllocatesWithinBudget(t *testing.T) {
	if webhook.RaceEnabled() {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	r := webhook.NewRouter()
	onplana.OnTaskUpdated(r, func(_ context.Context, _ *webhook.Event, data *onplana.TaskEventData) error {
		if data.Task.ID == "" || data.Diff.IsZero() {
			return errors.New("not decoded")
		}
		return nil
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{receiverSecret},
		Dedupe:  webhook.NewMemoryDedupeStore(64),
		Logger:  discard,
	}, r)
	require.NoError(t, err)
	info, ok := onplana.LookupEvent(webhook.EventTaskUpdated)
	require.True(t, ok)
	var sample webhook.Event
	require.NoError(t, json.Unmarshal(info.Sample, &sample))
	sample.DeliveryID = ""
	subs := make([]string, 256) // more than the store holds: every delivery is new to it
	for i := range subs {
		subs[i] = fmt.Sprintf("sub_%03d", i)
	}
	dls, err := webhook.NewDeliveries(sample, subs, time.Now(), 1<<20)
	require.NoError(t, err)
	type prepared struct {
		req  *http.Request
		body []byte
		rd   bytes.Reader
	}
	reqs := make([]*prepared, len(dls))
	for i := range reqs {
		body := dls[i].Body
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/hooks", nil)
		req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign(receiverSecret, body))
		req.ContentLength = int64(len(body))
		reqs[i] = &prepared{req: req, body: body}
	}
	w := &statusWriter{header: http.Header{}}
	i := 0
	serve := func() {
		p := reqs[i%len(reqs)]
		i++
		p.rd.Reset(p.body)
		p.req.Body = io.NopCloser(&p.rd)
		w.status = 0
		h.ServeHTTP(w, p.req)
		if w.status != http.StatusNoContent {
			panic(fmt.Sprint("status ", w.status))
		}
	}
	for range len(reqs) {
		serve() // fill the store, the pools and the owner tokens
	}
	allocs := testing.AllocsPerRun(1000, serve)
	// 4, and the io.NopCloser of the test's request body.
	require.LessOrEqual(t, allocs, 5.0)
}

// statusWriter records the status and discards the body.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.header }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *statusWriter) WriteHeader(code int)        { w.status = code }

// TestDecodedInPlaceWhereverTheIDsAre: when the Router decodes the data
// while the envelope is parsed, the envelope's ids (whose strings the
// data's decoder sets with its own) come out as ParseEvent gives them,
// whether they come before the data, after it, around it, or escaped.
func TestDecodedInPlaceWhereverTheIDsAre(t *testing.T) {
	t.Parallel()
	const (
		data = `"data":{"task":{"id":"task_1","title":"Ship it"}}`
		head = `"event":"task.updated","timestamp":"2026-06-27T09:15:23Z"`
	)
	for name, body := range map[string]string{
		"before":  `{"delivery_id":"dlv_1","event_id":"evt_1",` + head + `,"organization_id":"org_1","project_id":"proj_1",` + data + `}`,
		"after":   `{` + head + `,` + data + `,"delivery_id":"dlv_1","event_id":"evt_1","organization_id":"org_1","project_id":"proj_1"}`,
		"around":  `{"delivery_id":"dlv_1",` + head + `,"organization_id":"org_1",` + data + `,"event_id":"evt_1","project_id":"proj_1"}`,
		"escaped": `{"delivery_id":"dlv\u005f1","event_id":"evt_1",` + head + `,"organization_id":"org_1","project_id":"proj_1",` + data + `}`,
	} {
		want, err := webhook.ParseEvent([]byte(body))
		require.NoError(t, err, name)
		var got *webhook.Event
		var title string
		r := webhook.NewRouter()
		onplana.OnTaskUpdated(r, func(_ context.Context, e *webhook.Event, d *onplana.TaskEventData) error {
			got, title = e, d.Task.Title
			return nil
		})
		h, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret}, Logger: discard}, r)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
		req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign(receiverSecret, []byte(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNoContent, rec.Code, name)
		require.Equal(t, "Ship it", title, name)
		require.Equal(t, want, got, name)
		require.Equal(t, "dlv_1", got.DeliveryID, name)
	}
}
