package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// Organizations and users of the tests. alice is ADMIN of acme and
// MEMBER of globex; bob is OWNER of globex; carol is VIEWER of acme.
const (
	orgA = "org_acme"
	orgB = "org_globex"
)

var roles = map[string]map[string]onplana.Role{
	"alice": {orgA: onplana.RoleAdmin, orgB: onplana.RoleMember},
	"bob":   {orgB: onplana.RoleOwner},
	"carol": {orgA: onplana.RoleViewer},
}

// testAuthorizer reads the caller from the X-Test-User header: the host's
// authentication middleware in a real application.
var testAuthorizer = &RoleAuthorizer{
	RoleOf: func(r *http.Request, org string) (onplana.Role, error) {
		user := r.Header.Get("X-Test-User")
		if user == "" {
			return "", ErrUnauthenticated
		}
		return roles[user][org], nil
	},
}

// receiver is a local endpoint whose answers can be switched to 500.
type receiver struct {
	srv  *httptest.Server
	fail atomic.Bool
	got  chan *http.Request // the bodies are read into gotBody
	body chan []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan *http.Request, 64), body: make(chan []byte, 64)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rc.got <- r:
			rc.body <- b
		default:
		}
		if rc.fail.Load() {
			http.Error(w, `{"error":"receiver told to fail"}`, http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// observer reports ended deliveries to a channel.
type observer struct{ ended chan webhook.Delivery }

func (o *observer) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}
func (o *observer) DeliveryStateChanged(d *webhook.Delivery) {
	select {
	case o.ended <- *d:
	default:
	}
}

// noRetry fails a delivery at its first failed attempt.
type noRetry struct{}

func (noRetry) NextAttempt(int, time.Time, time.Time) (time.Time, bool) { return time.Time{}, false }

// env is one handler over a memory store and a dispatcher delivering to a
// local receiver.
type env struct {
	t     *testing.T
	store *webhook.MemoryStore
	d     *webhook.Dispatcher
	h     *Handler
	srv   *httptest.Server
	rc    *receiver
	ended chan webhook.Delivery
}

type envOption func(*Config)

// newEnv starts a dispatcher (unless started is false) and the handler.
func newEnv(t *testing.T, started bool, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, store: webhook.NewMemoryStore(), rc: newReceiver(t), ended: make(chan webhook.Delivery, 64)}
	d, err := webhook.NewDispatcher(e.store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RetryPolicy:     noRetry{},
		Observer:        &observer{ended: e.ended},
		Logger:          slog.New(slog.DiscardHandler),
		AttemptTimeout:  5 * time.Second,
	})
	require.NoError(t, err)
	e.d = d
	if started {
		require.NoError(t, d.Start(context.Background()))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close dispatcher: %v", err)
		}
	})
	cfg := Config{
		Dispatcher: d, Store: e.store, Authorizer: testAuthorizer, InsecureCookies: true,
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.h, err = New(cfg)
	require.NoError(t, err)
	// Every response the tests receive must be one openapi.yaml declares.
	e.srv = httptest.NewServer(checked(t, e.h.base, e.h))
	t.Cleanup(e.srv.Close)
	return e
}

// call sends an API request as user and decodes the JSON answer into out
// (when not nil). It returns the response with its body read.
func (e *env) call(user, method, path string, body any, out any) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(e.t, err)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	if out != nil && len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, out), "body: %s", raw)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

// apiErr is the decoded error body.
type apiErr struct {
	Error struct {
		Code    ErrorCode `json:"code"`
		Message string    `json:"message"`
		Field   string    `json:"field"`
	} `json:"error"`
}

// createSub creates a subscription of org through the API.
func (e *env) createSub(user, org string, eventTypes ...string) subscriptionJSON {
	e.t.Helper()
	if len(eventTypes) == 0 {
		eventTypes = []string{"task.*"}
	}
	var sub subscriptionJSON
	resp := e.call(user, "POST", "/api/v1/orgs/"+org+"/subscriptions",
		map[string]any{"url": e.rc.srv.URL + "/hook", "event_types": eventTypes, "description": "test hook"}, &sub)
	require.Equal(e.t, http.StatusCreated, resp.StatusCode)
	require.Equal(e.t, e.h.base+"/api/v1/orgs/"+org+"/subscriptions/"+sub.ID, resp.Header.Get("Location"))
	return sub
}

// waitEnded waits for a delivery to end, failing the test after a timeout.
func (e *env) waitEnded(id string) webhook.Delivery {
	e.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-e.ended:
			if d.ID == id {
				return d
			}
		case <-timeout:
			e.t.Fatalf("delivery %s did not end", id)
		}
	}
}

// waitAllEnded waits for every delivery of ids to end and returns their
// states.
func (e *env) waitAllEnded(ids ...string) map[string]webhook.DeliveryState {
	e.t.Helper()
	out := make(map[string]webhook.DeliveryState)
	timeout := time.After(10 * time.Second)
	for len(out) < len(ids) {
		select {
		case d := <-e.ended:
			if slices.Contains(ids, d.ID) {
				out[d.ID] = d.State
			}
		case <-timeout:
			e.t.Fatalf("deliveries did not end: got %v of %v", out, ids)
		}
	}
	return out
}

// onlyDelivery returns the single delivery of a subscription.
func (e *env) onlyDelivery(subID string) *webhook.Delivery {
	e.t.Helper()
	dls, _, err := e.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: subID})
	require.NoError(e.t, err)
	require.Len(e.t, dls, 1)
	return dls[0]
}

// readBody returns the (already buffered) body of a response from call.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// decodeBody decodes a JSON response body.
func decodeBody(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
