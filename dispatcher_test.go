package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// waitTimeout bounds every wait of these tests; nothing should take near it.
const waitTimeout = testwait.Timeout

// localhostOnly lets the SSRF guard through to httptest servers only.
var localhostOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// fastRetry retries every 10 ms, without jitter, for two seconds.
var fastRetry = webhook.ExponentialRetry{
	InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond,
	Multiplier: 1, RandomizationFactor: -1, MaxElapsed: 2 * time.Second,
}

// observed is what the test observer saw of one attempt.
type observed struct {
	d webhook.Delivery
	a webhook.Attempt
}

// testObserver forwards every attempt and every final state on channels.
type testObserver struct {
	attempts chan observed
	ended    chan webhook.Delivery
}

func newTestObserver() *testObserver {
	return &testObserver{attempts: make(chan observed, 1024), ended: make(chan webhook.Delivery, 1024)}
}

func (o *testObserver) AttemptFinished(d *webhook.Delivery, a *webhook.Attempt) {
	o.attempts <- observed{*d, *a}
}

func (o *testObserver) DeliveryStateChanged(d *webhook.Delivery) { o.ended <- *d }

// logBuffer collects a dispatcher's logs for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// harness is a dispatcher over a MemoryStore with an observer and a log.
type harness struct {
	store *webhook.MemoryStore
	d     *webhook.Dispatcher
	obs   *testObserver
	logs  *logBuffer
}

// newHarness returns an unstarted dispatcher with test defaults (local
// receivers allowed, fast retries); edit adjusts the config.
func newHarness(t *testing.T, store *webhook.MemoryStore, edit func(*webhook.Config)) *harness {
	t.Helper()
	if store == nil {
		store = webhook.NewMemoryStore()
	}
	h := &harness{store: store, obs: newTestObserver(), logs: &logBuffer{}}
	cfg := &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: localhostOnly,
		RetryPolicy:     fastRetry,
		AttemptTimeout:  2 * time.Second,
		PollInterval:    20 * time.Millisecond,
		Observer:        h.obs,
		Logger:          slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(cfg)
	}
	d, err := webhook.NewDispatcher(store, cfg)
	require.NoError(t, err)
	h.d = d
	return h
}

// start starts the dispatcher and closes it when the test ends.
func (h *harness) start(t *testing.T) {
	t.Helper()
	require.NoError(t, h.d.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.d.Close(ctx); err != nil {
			t.Errorf("close dispatcher: %v", err)
		}
	})
}

// subscribe creates a subscription to url in org_1.
func (h *harness) subscribe(t *testing.T, url, project string, types ...string) *webhook.Subscription {
	t.Helper()
	sub, err := h.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", ProjectID: project, URL: url, EventTypes: types,
	})
	require.NoError(t, err)
	return sub
}

// publish publishes an event of type typ of org_1/proj_1.
func (h *harness) publish(t *testing.T, typ webhook.EventType) {
	t.Helper()
	require.NoError(t, h.d.Publish(context.Background(), webhook.Event{
		Type: typ, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(typ),
	}))
}

// eventData returns a small Data that Publish accepts for typ: the
// resource its category names, with an id, and a diff for an update.
func eventData(typ webhook.EventType) []byte {
	name := typ.Category()
	data := `{"` + name + `":{"id":"` + name + `_1","title":"Ship it"}`
	if typ.HasDiff() {
		data += `,"diff":{"title":{"before":"Ship","after":"Ship it"}}`
	}
	return []byte(data + "}")
}

// waitEnded waits for the next delivery of a non-ping event to end.
func (h *harness) waitEnded(t *testing.T) webhook.Delivery {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case d := <-h.obs.ended:
			if d.EventType != webhook.EventPing {
				return d
			}
		case <-timeout:
			t.Fatal("timed out waiting for a delivery to end")
		}
	}
}

// waitAttempt waits for the next attempt of a non-ping event.
func (h *harness) waitAttempt(t *testing.T) observed {
	t.Helper()
	return h.waitAttemptOf(t, "")
}

// waitAttemptOf waits for the next attempt of an event of type typ, or of
// any non-ping event when typ is empty.
func (h *harness) waitAttemptOf(t *testing.T, typ webhook.EventType) observed {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case o := <-h.obs.attempts:
			if o.d.EventType == typ || typ == "" && o.d.EventType != webhook.EventPing {
				return o
			}
		case <-timeout:
			t.Fatal("timed out waiting for an attempt")
		}
	}
}

// attempts returns the delivery log of a delivery.
func (h *harness) attempts(t *testing.T, id string) []*webhook.Attempt {
	t.Helper()
	as, err := h.store.ListAttempts(context.Background(), id)
	require.NoError(t, err)
	return as
}

// received is one request an endpoint saw.
type received struct {
	header http.Header
	body   []byte
}

// endpoint is an httptest server answering pings 200 and events with fn,
// which gets the number of the event request (1-based). It records every
// event request it reads.
type endpoint struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
	n    atomic.Int32
}

func newEndpoint(t *testing.T, fn func(n int, w http.ResponseWriter, r *http.Request)) *endpoint {
	t.Helper()
	ep := &endpoint{}
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			return
		}
		ep.mu.Lock()
		ep.reqs = append(ep.reqs, received{r.Header.Clone(), body})
		ep.mu.Unlock()
		fn(int(ep.n.Add(1)), w, r)
	}))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) requests() []received {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]received(nil), ep.reqs...)
}

// failFirst returns a handler that fails its first k requests with fail
// and answers 200 afterwards.
func failFirst(k int, fail func(w http.ResponseWriter, r *http.Request)) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= k {
			fail(w, r)
		}
	}
}

func TestDispatcherDeliversVerifiableEnvelope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var sub *webhook.Subscription
	got := make(chan *webhook.Event, 1)
	var rv *webhook.Receiver
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rv.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e, _ := webhook.EventFromContext(r.Context())
			if e.Type != webhook.EventPing {
				got <- e
			}
		})).ServeHTTP(w, r)
	}))
	defer srv.Close()
	sub = h.subscribe(t, srv.URL+"/hooks/onplana", "", "task.*")
	var err error
	rv, err = webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{sub.Secrets[0].Secret}})
	require.NoError(t, err)
	h.start(t)

	h.publish(t, webhook.EventTaskUpdated)
	d := h.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)
	e := testwait.Recv(t, got, "receiver got nothing")
	require.Equal(t, d.ID, e.DeliveryID)
	require.Equal(t, d.EventID, e.ID)
	require.Equal(t, webhook.EventTaskUpdated, e.Type)
	require.Equal(t, "org_1", e.OrganizationID)
	require.Equal(t, "proj_1", e.ProjectID)
	require.JSONEq(t, string(eventData(webhook.EventTaskUpdated)), string(e.Data))
	as := h.attempts(t, d.ID)
	require.Len(t, as, 1)
	require.Equal(t, http.StatusOK, as[0].StatusCode)
	require.Empty(t, as[0].ErrorClass)
}

func TestDispatcherSendsHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.UserAgent = "acme-hooks/2" })
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskCreated)
	d := h.waitEnded(t)

	reqs := ep.requests()
	require.Len(t, reqs, 1)
	hd := reqs[0].header
	require.Equal(t, "application/json", hd.Get("Content-Type"))
	require.Equal(t, "acme-hooks/2", hd.Get("User-Agent"))
	require.Equal(t, d.ID, hd.Get(webhook.DefaultDeliveryHeader))
	require.Equal(t, "task.created", hd.Get(webhook.DefaultEventHeader))
	require.Len(t, hd.Get(webhook.DefaultSignatureHeader), 64)
	require.Empty(t, hd.Values("Accept-Encoding"), "no compressed answers asked for: only a snippet is read")
	require.Equal(t, d.Body, reqs[0].body)
}

func TestDispatcherRedactsURLsInAttemptErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.AttemptTimeout = 200 * time.Millisecond })
	ep := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	h.subscribe(t, ep.URL+"/services/T000/B000/SECRETTOKEN", "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskCreated)
	o := h.waitAttempt(t)
	require.Equal(t, webhook.ErrorClassTimeout, o.a.ErrorClass)
	require.Contains(t, o.a.Error, "[REDACTED]")
	require.NotContains(t, o.a.Error, "SECRETTOKEN")
	require.NotContains(t, h.logs.String(), "SECRETTOKEN")
}

func TestDispatcherSSRFGuard(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	port := ep.Listener.Addr().(*net.TCPAddr).Port
	urls := []string{
		"http://127.0.0.1:" + strconv.Itoa(port) + "/",
		"http://[::1]:" + strconv.Itoa(port) + "/",
		"http://10.0.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/",
		"http://localhost:" + strconv.Itoa(port) + "/",
	}

	t.Run("refused at creation", func(t *testing.T) {
		strict := newHarness(t, nil, func(c *webhook.Config) { c.AllowedNetworks = nil })
		for _, u := range urls {
			_, err := strict.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: u, EventTypes: []string{"*"},
			})
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve, u)
			require.Equal(t, "URL", ve.Field)
		}
	})

	t.Run("refused at dial", func(t *testing.T) {
		// Subscriptions created by a permissive process (or before DNS
		// changed) are still refused by a strict sender at connect time.
		store := webhook.NewMemoryStore()
		lax := newHarness(t, store, func(c *webhook.Config) { c.AllowPrivateNetworks = true })
		for _, u := range urls {
			lax.subscribe(t, u, "", "task.updated")
		}
		strict := newHarness(t, store, func(c *webhook.Config) { c.AllowedNetworks = nil })
		strict.start(t)
		strict.publish(t, webhook.EventTaskUpdated)
		for range urls {
			o := strict.waitAttempt(t)
			require.Equal(t, webhook.ErrorClassBlocked, o.a.ErrorClass, o.a.Error)
			require.Contains(t, o.a.Error, "not allowed")
			require.Zero(t, o.a.StatusCode)
		}
		require.Empty(t, ep.requests(), "nothing reached the local endpoint")
		logs := strict.logs.String()
		require.Contains(t, logs, "error_class=blocked")
		require.Contains(t, logs, "loopback")
		require.Contains(t, logs, "link-local")
	})
}

// newDispatcherOn returns an unstarted dispatcher over store with test
// defaults (local receivers allowed, no logs) and its observer; edit
// adjusts the config.
func newDispatcherOn(t *testing.T, store webhook.Store, edit func(*webhook.Config)) (*webhook.Dispatcher, *testObserver) {
	t.Helper()
	obs := newTestObserver()
	cfg := &webhook.Config{AllowHTTP: true, AllowedNetworks: localhostOnly, Observer: obs, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(cfg)
	}
	d, err := webhook.NewDispatcher(store, cfg)
	require.NoError(t, err)
	return d, obs
}

// TestDispatcherStopsOnPermanentHandlerError runs the two halves together:
// a Receiver whose handler fails with Permanent acknowledges the delivery,
// so the Dispatcher records one successful attempt, whose snippet says the
// event was not processed, and never retries it.
func TestDispatcherStopsOnPermanentHandlerError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var handler atomic.Pointer[http.Handler]
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hp := handler.Load(); hp != nil {
			(*hp).ServeHTTP(w, r)
		} // else: answer 200 to the creation ping, sent before the receiver knows the secret
	}))
	t.Cleanup(srv.Close)
	sub := h.subscribe(t, srv.URL, "", "task.*")
	var hh http.Handler
	hh, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{sub.Secrets[0].Secret},
		Logger:  slog.New(slog.DiscardHandler),
	}, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		if e.Type != webhook.EventPing {
			calls.Add(1)
		}
		return webhook.Permanent(errors.New("task_1 is in a project this host deleted"))
	}))
	require.NoError(t, err)
	handler.Store(&hh)
	h.start(t)

	h.publish(t, webhook.EventTaskUpdated)
	d := h.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)
	as := h.attempts(t, d.ID)
	require.Len(t, as, 1)
	require.Equal(t, http.StatusOK, as[0].StatusCode)
	require.Contains(t, as[0].ResponseSnippet, "not processed")
	require.EqualValues(t, 1, calls.Load())
}
