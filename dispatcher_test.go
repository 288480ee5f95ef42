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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// waitTimeout bounds every wait of these tests; nothing should take near it.
const waitTimeout = 10 * time.Second

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

func TestDispatcherRetriesEveryFailureClass(t *testing.T) {
	t.Parallel()
	const attemptTimeout = 300 * time.Millisecond
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tests := []struct {
		name   string
		fail   func(w http.ResponseWriter, r *http.Request)
		class  webhook.ErrorClass
		status int
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, webhook.ErrorClassStatus, 500},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, webhook.ErrorClassStatus, 404},
		{"301 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
		}, webhook.ErrorClassStatus, 301},
		{"307 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, webhook.ErrorClassStatus, 307},
		{"timeout", hang, webhook.ErrorClassTimeout, 0},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			conn.(*net.TCPConn).SetLinger(0) // close with RST
			conn.Close()
		}, webhook.ErrorClassConnection, 0},
		{"trickled body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			rc := http.NewResponseController(w)
			for {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				rc.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}, webhook.ErrorClassTimeout, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const k = 2
			h := newHarness(t, nil, func(c *webhook.Config) { c.AttemptTimeout = attemptTimeout })
			ep := newEndpoint(t, failFirst(k, tt.fail))
			sub := h.subscribe(t, ep.URL+"/hook", "", "task.updated")
			h.start(t)
			h.publish(t, webhook.EventTaskUpdated)

			d := h.waitEnded(t)
			require.Equal(t, webhook.StateSucceeded, d.State)
			require.Equal(t, k+1, d.AttemptCount)
			as := h.attempts(t, d.ID)
			require.Len(t, as, k+1)
			for i, a := range as[:k] {
				require.Equal(t, i+1, a.Number)
				require.Equal(t, tt.class, a.ErrorClass, "attempt %d: %s", a.Number, a.Error)
				require.Equal(t, tt.status, a.StatusCode)
				require.NotEmpty(t, a.Error)
			}
			require.Equal(t, 200, as[k].StatusCode)
			require.Empty(t, as[k].ErrorClass)

			// Every attempt sent the same bytes with the same signature.
			reqs := ep.requests()
			require.Len(t, reqs, k+1)
			for _, r := range reqs {
				require.Equal(t, d.Body, r.body)
				require.Equal(t, reqs[0].header.Get(webhook.DefaultSignatureHeader), r.header.Get(webhook.DefaultSignatureHeader))
				require.NoError(t, webhook.Verify(r.body, r.header.Get(webhook.DefaultSignatureHeader), sub.Secrets[0].Secret))
			}
		})
	}
}

func TestDispatcherRetriesConnectionRefused(t *testing.T) {
	t.Parallel()
	// Reserve a port, then close it: connecting is refused until a server
	// listens there again.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	h := newHarness(t, nil, nil)
	h.subscribe(t, "http://"+addr+"/hook", "", "task.updated")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)

	first := h.waitAttempt(t)
	require.Equal(t, webhook.ErrorClassConnection, first.a.ErrorClass, first.a.Error)
	require.Equal(t, webhook.StatePending, first.d.State)

	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	d := h.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)
	require.GreaterOrEqual(t, d.AttemptCount, 2)
}

func TestDispatcherFailsWhenWindowSpent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.RetryPolicy = webhook.ExponentialRetry{
			InitialInterval: 20 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
			Multiplier: 1, RandomizationFactor: -1, MaxElapsed: 150 * time.Millisecond,
		}
	})
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, strings.Repeat("boom ", 1000))
	})
	const secretPath = "/services/T000/B000/SECRETTOKEN"
	h.subscribe(t, ep.URL+secretPath+"?token=QUERYSECRET", "", "*")
	h.start(t)
	h.publish(t, webhook.EventMilestoneCompleted)

	d := h.waitEnded(t)
	require.Equal(t, webhook.StateFailed, d.State)
	require.GreaterOrEqual(t, d.AttemptCount, 3)
	as := h.attempts(t, d.ID)
	require.Len(t, as, d.AttemptCount, "every attempt is in the log")
	require.Len(t, ep.requests(), d.AttemptCount)
	for i, a := range as {
		require.Equal(t, i+1, a.Number)
		require.Equal(t, 500, a.StatusCode)
		require.Equal(t, webhook.ErrorClassStatus, a.ErrorClass)
		require.False(t, a.StartedAt.IsZero())
		require.Positive(t, a.Duration)
		require.LessOrEqual(t, len(a.ResponseSnippet), webhook.DefaultSnippetBytes, "snippet is capped")
		require.True(t, strings.HasPrefix(a.ResponseSnippet, "boom boom"))
	}
	logs := h.logs.String()
	require.Contains(t, logs, "delivery failed")
	require.NotContains(t, logs, "SECRETTOKEN")
	require.NotContains(t, logs, "QUERYSECRET")
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

func TestDispatcherPublishMatchesScopeAndTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	mk := func(org, project string, types ...string) string {
		sub, err := h.d.CreateSubscription(ctx, webhook.SubscriptionParams{
			OrganizationID: org, ProjectID: project, URL: "https://hooks.example.com/" + org, EventTypes: types,
		})
		require.NoError(t, err)
		return sub.ID
	}
	orgAll := mk("org_1", "", "*")
	orgTasks := mk("org_1", "", "task.*")
	projExact := mk("org_1", "proj_1", "task.updated")
	otherProj := mk("org_1", "proj_2", "task.*")
	otherOrg := mk("org_2", "", "*")
	milestones := mk("org_1", "", "milestone.completed")
	_, _ = otherProj, otherOrg

	tests := []struct {
		name    string
		typ     webhook.EventType
		project string
		want    []string
	}{
		{"project task event", webhook.EventTaskUpdated, "proj_1", []string{orgAll, orgTasks, projExact}},
		{"other type in the category", webhook.EventTaskCreated, "proj_1", []string{orgAll, orgTasks}},
		{"other project", webhook.EventTaskUpdated, "proj_2", []string{orgAll, orgTasks, otherProj}},
		{"organization-level event", webhook.EventMemberInvited, "", []string{orgAll}},
		{"explicit type", webhook.EventMilestoneCompleted, "proj_3", []string{orgAll, milestones}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "evt_" + strings.ReplaceAll(tt.name, " ", "_")
			require.NoError(t, h.d.Publish(ctx, webhook.Event{
				ID: id, Type: tt.typ, OrganizationID: "org_1", ProjectID: tt.project, Data: eventData(tt.typ),
			}))
			var got []string
			for _, org := range []string{"org_1", "org_2"} {
				dls, _, err := h.store.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: org, Page: webhook.Page{Limit: webhook.MaxPageSize}})
				require.NoError(t, err)
				for _, d := range dls {
					if d.EventID == id {
						got = append(got, d.SubscriptionID)
						require.Equal(t, "org_1", d.OrganizationID)
					}
				}
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestDispatcherSlowEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	const perEndpoint = 2
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.Workers = 4
		c.MaxPerEndpoint = perEndpoint
		c.AttemptTimeout = waitTimeout
	})
	unblock := make(chan struct{})
	var inSlow, maxInSlow atomic.Int32
	slow := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		n := inSlow.Add(1)
		defer inSlow.Add(-1)
		for {
			m := maxInSlow.Load()
			if n <= m || maxInSlow.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	})
	fast := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	h.subscribe(t, slow.URL, "", "task.created")
	h.subscribe(t, fast.URL, "", "task.updated")
	h.start(t)
	for range 20 {
		h.publish(t, webhook.EventTaskCreated)
	}
	h.publish(t, webhook.EventTaskUpdated)

	d := h.waitEnded(t)
	require.Equal(t, webhook.EventTaskUpdated, d.EventType, "the healthy endpoint's delivery ends first")
	require.Equal(t, webhook.StateSucceeded, d.State)
	require.LessOrEqual(t, maxInSlow.Load(), int32(perEndpoint))
	close(unblock)
	for range 20 {
		require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)
	}
	require.LessOrEqual(t, maxInSlow.Load(), int32(perEndpoint))
}

func TestDispatcherCloseLosesNothing(t *testing.T) {
	t.Parallel()
	store := webhook.NewMemoryStore()
	first := newHarness(t, store, func(c *webhook.Config) { c.Workers = 2; c.MaxPerEndpoint = 2 })
	inFlight := make(chan struct{}, 100)
	unblock := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]int{}
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		inFlight <- struct{}{}
		<-unblock
		mu.Lock()
		seen[r.Header.Get(webhook.DefaultDeliveryHeader)]++
		mu.Unlock()
	})
	first.subscribe(t, ep.URL, "", "*")
	const events = 20
	for range events {
		first.publish(t, webhook.EventTaskUpdated)
	}
	require.NoError(t, first.d.Start(context.Background()))
	for range 2 {
		testwait.Recv(t, inFlight, "no attempt started")
	}
	closed := make(chan error, 1)
	go func() { closed <- first.d.Close(context.Background()) }()
	// Close waits for the two attempts in flight.
	select {
	case err := <-closed:
		t.Fatalf("Close returned before in-flight attempts ended: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The attempts end once Close has begun (and stopped claiming), or the
	// workers could go on to their next deliveries first.
	require.Eventually(t, func() bool {
		return errors.Is(first.d.Publish(context.Background(), webhook.Event{}), webhook.ErrClosed)
	}, waitTimeout, time.Millisecond)
	close(unblock)
	err := testwait.Recv(t, closed, "Close did not return")
	require.NoError(t, err)
	require.NoError(t, first.d.Close(context.Background()), "a second Close is fine")

	ctx := context.Background()
	counts := map[webhook.DeliveryState]int{}
	dls, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{EventType: webhook.EventTaskUpdated, Page: webhook.Page{Limit: 100}})
	require.NoError(t, err)
	require.Len(t, dls, events)
	for _, d := range dls {
		counts[d.State]++
	}
	require.Equal(t, 2, counts[webhook.StateSucceeded], "in-flight attempts were recorded")
	require.Equal(t, events-2, counts[webhook.StatePending], "the rest is pending, none left delivering")

	second := newHarness(t, store, nil)
	second.start(t)
	for range events - 2 {
		require.Equal(t, webhook.StateSucceeded, second.waitEnded(t).State)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range dls {
		require.Equal(t, 1, seen[d.ID], "delivery %s received once", d.ID)
	}
}

func TestDispatcherCloseDeadlineReleasesInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	inFlight := make(chan struct{}, 1)
	ep := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		inFlight <- struct{}{}
		<-r.Context().Done() // until the dispatcher gives up
	})
	h.subscribe(t, ep.URL, "", "*")
	h.publish(t, webhook.EventTaskUpdated)
	require.NoError(t, h.d.Start(context.Background()))
	testwait.Recv(t, inFlight, "no attempt started")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.d.Close(ctx), context.DeadlineExceeded)

	dls, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{EventType: webhook.EventTaskUpdated})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, webhook.StatePending, dls[0].State, "an interrupted attempt goes back to pending")
	require.Zero(t, dls[0].AttemptCount, "and is not counted as an attempt")
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

func TestDispatcherGoneDisablesAtOnce(t *testing.T) {
	t.Parallel()
	disabled := make(chan string, 4)
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.OnDisable = func(_ context.Context, sub *webhook.Subscription, reason string) { disabled <- sub.ID + ": " + reason }
	})
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	sub := h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)

	d := h.waitEnded(t)
	require.Equal(t, webhook.StateFailed, d.State)
	require.Equal(t, 1, d.AttemptCount, "410 is not retried")
	got := testwait.Recv(t, disabled, "OnDisable not called")
	require.Equal(t, sub.ID+": "+webhook.DisabledGone, got)
	stored, err := h.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.True(t, stored.Disabled)
	require.Equal(t, webhook.DisabledGone, stored.DisabledReason)

	// A disabled subscription receives no new deliveries.
	h.publish(t, webhook.EventTaskUpdated)
	dls, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{EventType: webhook.EventTaskUpdated})
	require.NoError(t, err)
	require.Len(t, dls, 1)
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		retryAfter string
		min, max   time.Duration // bounds of NextAttemptAt - attempt start
	}{
		{"503 seconds", 503, "2", 2 * time.Second, 3 * time.Second},
		{"429 capped", 429, "86400", 5 * time.Second, 6 * time.Second},
		{"502 HTTP date", 502, "DATE+3s", 2 * time.Second, 4 * time.Second},
		{"504 without header uses the policy", 504, "", 0, time.Second},
		{"500 ignores Retry-After", 500, "30", 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, func(c *webhook.Config) {
				c.MaxRetryAfter = 5 * time.Second
				c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: 10 * time.Millisecond, Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Hour}
			})
			ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				v := tt.retryAfter
				if v == "DATE+3s" {
					v = time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
				}
				if v != "" {
					w.Header().Set("Retry-After", v)
				}
				w.WriteHeader(tt.status)
			})
			h.subscribe(t, ep.URL, "", "*")
			h.start(t)
			h.publish(t, webhook.EventTaskUpdated)
			o := h.waitAttempt(t)
			require.Equal(t, webhook.StatePending, o.d.State)
			wait := o.d.NextAttemptAt.Sub(o.a.StartedAt)
			require.GreaterOrEqual(t, wait, tt.min)
			require.LessOrEqual(t, wait, tt.max)
		})
	}
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestDispatcherDisablesFailingEndpoint(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)}
	disabled := make(chan *webhook.Subscription, 4)
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.Now = clock.Now
		c.DisableAfter = 24 * time.Hour
		c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: time.Minute, Multiplier: 1, RandomizationFactor: -1, MaxElapsed: 30 * 24 * time.Hour}
		c.OnDisable = func(_ context.Context, sub *webhook.Subscription, _ string) { disabled <- sub }
	})
	var fail atomic.Bool
	fail.Store(true)
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	sub := h.subscribe(t, ep.URL, "", "task.*")
	h.start(t)
	get := func() *webhook.Subscription {
		s, err := h.store.GetSubscription(context.Background(), sub.ID)
		require.NoError(t, err)
		return s
	}
	// The creation ping ends before the clock moves: a ping still in flight
	// when the clock jumps by hours would lose its lease, be sent again
	// later, and its success would clear the failure record under test.
	waitPing(t, h.obs)

	// First failure: the endpoint is failing since then.
	h.publish(t, webhook.EventTaskUpdated)
	first := h.waitAttempt(t)
	require.Equal(t, 500, first.a.StatusCode)
	require.Equal(t, first.a.StartedAt, get().FailingSince, "health is updated before the observer hears")

	// A success in between clears the record.
	fail.Store(false)
	clock.Advance(2 * time.Minute)
	require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)
	require.True(t, get().FailingSince.IsZero())

	// Failing again, for longer than DisableAfter: disabled, host told once.
	fail.Store(true)
	h.publish(t, webhook.EventTaskCreated)
	start := h.waitAttemptOf(t, webhook.EventTaskCreated)
	require.Equal(t, 1, start.a.Number)
	clock.Advance(23 * time.Hour)
	require.Equal(t, 2, h.waitAttemptOf(t, webhook.EventTaskCreated).a.Number)
	select {
	case s := <-disabled:
		t.Fatalf("disabled too early: %s", s.DisabledReason)
	default:
	}
	clock.Advance(time.Hour)
	require.Equal(t, 3, h.waitAttemptOf(t, webhook.EventTaskCreated).a.Number)
	s := testwait.Recv(t, disabled, "OnDisable not called")
	require.Equal(t, sub.ID, s.ID)
	require.True(t, s.Disabled)
	require.Contains(t, s.DisabledReason, "no successful delivery since "+start.a.StartedAt.Format(time.RFC3339))
	require.True(t, get().Disabled)

	// Enabling is explicit and clears the failure record.
	s, err := h.d.SetSubscriptionEnabled(context.Background(), sub.ID, true)
	require.NoError(t, err)
	require.False(t, s.Disabled)
	require.Empty(t, s.DisabledReason)
	require.True(t, s.FailingSince.IsZero())
}

func TestDispatcherRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub := h.subscribe(t, ep.URL, "", "*")
	old := sub.Secrets[0].Secret
	fresh, err := h.d.RotateSecret(context.Background(), sub.ID, time.Hour)
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	h.start(t)

	verifies := func(r received, s webhook.Secret) bool {
		v, err := webhook.NewVerifier(s)
		require.NoError(t, err)
		return v.VerifyHeader(r.body, r.header) == nil
	}
	h.publish(t, webhook.EventTaskUpdated)
	h.waitEnded(t)
	r := ep.requests()[0]
	require.True(t, verifies(r, old), "old secret verifies during the grace period")
	require.True(t, verifies(r, fresh), "new secret verifies")

	newest, err := h.d.RotateSecret(context.Background(), sub.ID, webhook.RotateImmediately)
	require.NoError(t, err)
	h.publish(t, webhook.EventTaskUpdated)
	h.waitEnded(t)
	r = ep.requests()[1]
	require.True(t, verifies(r, newest))
	require.False(t, verifies(r, fresh), "rotated out at once")
	require.False(t, verifies(r, old))
}

func TestDispatcherStandardSchemeResignsEachAttempt(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.Scheme = webhook.SchemeStandard
		c.Now = clock.Now
		c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: time.Minute, Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Hour}
	})
	ep := newEndpoint(t, failFirst(1, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	sub := h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)
	h.waitAttempt(t)
	clock.Advance(2 * time.Minute)
	d := h.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)

	reqs := ep.requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		require.Equal(t, d.ID, r.header.Get(webhook.StandardIDHeader), "same webhook-id on every attempt")
		require.Equal(t, d.Body, r.body)
	}
	ts0, ts1 := reqs[0].header.Get(webhook.StandardTimestampHeader), reqs[1].header.Get(webhook.StandardTimestampHeader)
	require.NotEqual(t, ts0, ts1, "each attempt is signed with a fresh timestamp")
	v, err := webhook.NewStandardVerifier(&webhook.StandardVerifierConfig{Now: clock.Now}, sub.Secrets[0].Secret)
	require.NoError(t, err)
	require.NoError(t, v.VerifyHeader(reqs[1].body, reqs[1].header))
}

func TestDispatcherPing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var status atomic.Int32
	status.Store(200)
	pings := make(chan received, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		pings <- received{r.Header.Clone(), body}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	sub := h.subscribe(t, srv.URL, "", "task.*")

	// Ping works without Start and records the attempt.
	a, err := h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 200, a.StatusCode)
	require.Empty(t, a.ErrorClass)
	r := <-pings
	require.NoError(t, webhook.Verify(r.body, r.header.Get(webhook.DefaultSignatureHeader), sub.Secrets[0].Secret))
	e, err := webhook.ParseEvent(r.body)
	require.NoError(t, err)
	require.Equal(t, webhook.EventPing, e.Type)
	require.Equal(t, a.DeliveryID, e.DeliveryID)
	dl, err := h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateSucceeded, dl.State)

	// A failed ping is reported and not retried.
	status.Store(503)
	a, err = h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 503, a.StatusCode)
	require.Equal(t, webhook.ErrorClassStatus, a.ErrorClass)
	dl, err = h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, dl.State)

	// The creation ping, enqueued at creation, goes out once started.
	status.Store(200)
	h.start(t)
	r = testwait.Recv(t, pings, "creation ping not sent")
	e, err = webhook.ParseEvent(r.body)
	require.NoError(t, err)
	require.Equal(t, webhook.EventPing, e.Type)
	require.Contains(t, string(e.Data), sub.ID)

	// A disabled subscription can be pinged (to test it before enabling
	// it again); that ping is not recorded.
	_, err = h.d.SetSubscriptionEnabled(context.Background(), sub.ID, false)
	require.NoError(t, err)
	a, err = h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 200, a.StatusCode)
	<-pings
	_, err = h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.ErrorIs(t, err, webhook.ErrNotFound)

	_, err = h.d.Ping(context.Background(), "sub_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestDispatcherPingWhileRunning checks that a Ping made while workers run
// is sent once: the workers must not claim the delivery Ping holds.
func TestDispatcherPingWhileRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			hits.Add(1)
		}
		time.Sleep(300 * time.Millisecond) // a slow endpoint: the workers poll meanwhile
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	sub := h.subscribe(t, srv.URL, "", "task.*")
	h.start(t)
	// Wait for the creation ping to be sent and recorded.
	require.Eventually(t, func() bool {
		ds, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: sub.ID})
		return err == nil && len(ds) == 1 && ds[0].State == webhook.StateSucceeded
	}, waitTimeout, 10*time.Millisecond)
	hits.Store(0)

	a, err := h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.StatusCode)
	// A worker that wrongly claimed the held ping did so while the ping was
	// being sent (the harness polls every 20 ms): Close waits for it.
	require.NoError(t, h.d.Close(context.Background()))
	require.Equal(t, int32(1), hits.Load(), "one Ping must reach the endpoint once")
	as, err := h.store.ListAttempts(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Len(t, as, 1)
}

func TestDispatcherRedeliver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: time.Millisecond, Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Millisecond}
	})
	ep := newEndpoint(t, failFirst(1, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)
	d := h.waitEnded(t)
	require.Equal(t, webhook.StateFailed, d.State)

	require.NoError(t, h.d.Redeliver(context.Background(), d.ID))
	again := h.waitEnded(t)
	require.Equal(t, d.ID, again.ID)
	require.Equal(t, webhook.StateSucceeded, again.State)
	require.Len(t, h.attempts(t, d.ID), 2)
	reqs := ep.requests()
	require.Equal(t, reqs[0].body, reqs[1].body)

	require.ErrorIs(t, h.d.Redeliver(context.Background(), "dlv_missing"), webhook.ErrNotFound)
}

func TestDispatcherPublishValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.MaxPayloadBytes = 1024 })
	h.subscribe(t, "https://hooks.example.com/x", "", "*")
	valid := webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: []byte(`{"task":{"id":"task_1"}}`)}
	update := webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1",
		Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`)}
	tests := []struct {
		name  string
		event webhook.Event
		edit  func(*webhook.Event)
		field string
	}{
		{"unknown type", valid, func(e *webhook.Event) { e.Type = "task.exploded" }, "Type"},
		{"ping", valid, func(e *webhook.Event) { e.Type = webhook.EventPing }, "Type"},
		{"no organization", valid, func(e *webhook.Event) { e.OrganizationID = "" }, "OrganizationID"},
		{"delivery id set", valid, func(e *webhook.Event) { e.DeliveryID = "dlv_x" }, "DeliveryID"},
		{"id with a dot", valid, func(e *webhook.Event) { e.ID = "evt.1" }, "ID"},
		{"control character", valid, func(e *webhook.Event) { e.ProjectID = "proj\n1" }, "ProjectID"},
		{"data not an object", valid, func(e *webhook.Event) { e.Data = []byte(`[1]`) }, "Data"},
		{"data not JSON", valid, func(e *webhook.Event) { e.Data = []byte(`{"a":`) }, "Data"},
		{"resource not JSON", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":}}`) }, "Data"},
		{"no data", valid, func(e *webhook.Event) { e.Data = nil }, "Data"},

		// What the catalog forbids (issue 12).
		{"project-scoped type without project_id", valid, func(e *webhook.Event) { e.ProjectID = "" }, "ProjectID"},
		{"resource not an object", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":42}`) }, "Data.task"},
		{"resource null", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":null}`) }, "Data.task"},
		{"empty data", valid, func(e *webhook.Event) { e.Data = []byte(`{}`) }, "Data.task"},
		{"resource of another category", valid, func(e *webhook.Event) { e.Data = []byte(`{"project":{"id":"proj_1"}}`) }, "Data.task"},
		{"resource repeated", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"a"},"task":{"id":"b"}}`) }, "Data.task"},
		{"resource without id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"title":"x"}}`) }, "Data.task.id"},
		{"resource with an empty id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":""}}`) }, "Data.task.id"},
		{"resource with a numeric id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":7}}`) }, "Data.task.id"},
		{"update without diff", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"}}`) }, "Data.diff"},
		{"update with an empty diff", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"},"diff":{}}`) }, "Data.diff"},
		{"update with a diff not an object", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"},"diff":["title"]}`) }, "Data.diff"},
		{"member event without its member", valid, func(e *webhook.Event) {
			e.Type, e.ProjectID, e.Data = webhook.EventMemberInvited, "", []byte(`{"task":{"id":"task_1"}}`)
		}, "Data.member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.event
			tt.edit(&e)
			var ve *webhook.ValidationError
			require.ErrorAs(t, h.d.Publish(context.Background(), e), &ve)
			require.Equal(t, tt.field, ve.Field, ve.Error())
		})
	}

	big := valid
	big.Data = []byte(`{"task":{"id":"task_1"},"text":"` + strings.Repeat("a", 1024) + `"}`)
	require.ErrorIs(t, h.d.Publish(context.Background(), big), webhook.ErrPayloadTooLarge)
	require.NoError(t, h.d.Publish(context.Background(), valid))
	require.NoError(t, h.d.Publish(context.Background(), update))
	member := webhook.Event{Type: webhook.EventMemberRoleChanged, OrganizationID: "org_1",
		Data: []byte(` { "member" : { "id" : "mem_1" } , "diff" : { "role" : { "before" : "member" , "after" : "admin" } } } `)}
	require.NoError(t, h.d.Publish(context.Background(), member), "organization-level, whitespace anywhere")
}

func TestDispatcherSubscriptionValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.AllowHTTP = false })
	valid := webhook.SubscriptionParams{OrganizationID: "org_1", URL: "https://hooks.example.com/a", EventTypes: []string{"task.*"}}
	tests := []struct {
		name  string
		edit  func(*webhook.SubscriptionParams)
		field string
	}{
		{"no organization", func(p *webhook.SubscriptionParams) { p.OrganizationID = "" }, "OrganizationID"},
		{"plain http", func(p *webhook.SubscriptionParams) { p.URL = "http://hooks.example.com/a" }, "URL"},
		{"other scheme", func(p *webhook.SubscriptionParams) { p.URL = "gopher://hooks.example.com/" }, "URL"},
		{"relative", func(p *webhook.SubscriptionParams) { p.URL = "/hooks" }, "URL"},
		{"credentials", func(p *webhook.SubscriptionParams) { p.URL = "https://u:p@hooks.example.com/" }, "URL"},
		{"fragment", func(p *webhook.SubscriptionParams) { p.URL = "https://hooks.example.com/#x" }, "URL"},
		{"no event types", func(p *webhook.SubscriptionParams) { p.EventTypes = nil }, "EventTypes"},
		{"unknown event type", func(p *webhook.SubscriptionParams) { p.EventTypes = []string{"task.exploded"} }, "EventTypes"},
		{"long description", func(p *webhook.SubscriptionParams) { p.Description = strings.Repeat("x", 2000) }, "Description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.edit(&p)
			_, err := h.d.CreateSubscription(context.Background(), p)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field)
		})
	}

	sub, err := h.d.CreateSubscription(context.Background(), valid)
	require.NoError(t, err)
	require.Len(t, sub.Secrets, 1)
	require.True(t, strings.HasPrefix(string(sub.Secrets[0].Secret), webhook.SecretPrefix))

	upd := valid
	upd.OrganizationID = ""
	upd.URL = "https://hooks.example.com/b"
	upd.EventTypes = []string{"milestone.completed"}
	got, err := h.d.UpdateSubscription(context.Background(), sub.ID, upd)
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example.com/b", got.URL)
	require.Equal(t, []string{"milestone.completed"}, got.EventTypes)
	require.Equal(t, sub.Secrets, got.Secrets, "update keeps the secret")

	upd.OrganizationID = "org_2"
	_, err = h.d.UpdateSubscription(context.Background(), sub.ID, upd)
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "OrganizationID", ve.Field)

	_, err = h.d.UpdateSubscription(context.Background(), "sub_missing", upd)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestDispatcherConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   webhook.Config
		field string
	}{
		{"negative workers", webhook.Config{Workers: -1}, "Workers"},
		{"negative timeout", webhook.Config{AttemptTimeout: -time.Second}, "AttemptTimeout"},
		{"bad scheme", webhook.Config{Scheme: "sha1"}, "Scheme"},
		{"bad header", webhook.Config{EventHeader: "X Event"}, "EventHeader"},
		{"bad user agent", webhook.Config{UserAgent: "a\nb"}, "UserAgent"},
		{"invalid prefix", webhook.Config{AllowedNetworks: []netip.Prefix{{}}}, "AllowedNetworks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &tt.cfg)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field)
		})
	}
	_, err := webhook.NewDispatcher(nil, nil)
	require.Error(t, err)
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err, "nil config means defaults")
	var ve *webhook.ValidationError
	require.ErrorAs(t, d.DeleteSubscription(context.Background(), ""), &ve)
	require.Equal(t, "id", ve.Field)
	require.NoError(t, d.Close(context.Background()), "closing an unstarted dispatcher is fine")
	require.ErrorIs(t, d.Start(context.Background()), webhook.ErrClosed)
	require.ErrorIs(t, d.DeleteSubscription(context.Background(), "sub_1"), webhook.ErrClosed)
}

func TestDispatcherStartTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.start(t)
	require.ErrorIs(t, h.d.Start(context.Background()), webhook.ErrAlreadyStarted)
}

// TestDispatcherNoGoroutineLeak is not parallel: goleak sees every
// goroutine of the process.
func TestDispatcherNoGoroutineLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	store := webhook.NewMemoryStore()
	h := newHarness(t, store, nil)
	ep := newEndpoint(t, failFirst(1, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	h.subscribe(t, ep.URL, "", "*")
	require.NoError(t, h.d.Start(context.Background()))
	h.publish(t, webhook.EventTaskUpdated)
	require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)
	_, err := h.d.Ping(context.Background(), mustFirstSub(t, store))
	require.NoError(t, err)
	require.NoError(t, h.d.Close(context.Background()))
	ep.Close()
}

func mustFirstSub(t *testing.T, store *webhook.MemoryStore) string {
	t.Helper()
	subs, _, err := store.ListSubscriptions(context.Background(), "org_1", webhook.Page{})
	require.NoError(t, err)
	require.NotEmpty(t, subs)
	return subs[0].ID
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

// subjectlessStore breaks the Claim contract: the deliveries it claims
// come without their subscription. It counts GetSubscription calls.
type subjectlessStore struct {
	*webhook.MemoryStore
	gets atomic.Int32
}

func (s *subjectlessStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, limit, lease, skip)
	for i := range cs {
		cs[i].Subscription = nil
	}
	return cs, err
}

func (s *subjectlessStore) GetSubscription(ctx context.Context, id string) (*webhook.Subscription, error) {
	s.gets.Add(1)
	return s.MemoryStore.GetSubscription(ctx, id)
}

// TestDispatcherClaimWithoutSubscription checks a Store that returns
// deliveries without their subscription: the Dispatcher reads it, and
// delivers as usual.
func TestDispatcherClaimWithoutSubscription(t *testing.T) {
	t.Parallel()
	store := &subjectlessStore{MemoryStore: webhook.NewMemoryStore()}
	d, obs := newDispatcherOn(t, store, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	before := store.gets.Load()
	require.NoError(t, d.Publish(context.Background(), webhook.Event{
		Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
	}))
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())
	for range 2 { // the ping and the event
		dl := testwait.Recv(t, obs.ended, "delivery did not end")
		require.Equal(t, webhook.StateSucceeded, dl.State)
	}
	require.Len(t, ep.requests(), 1, "the event, once")
	require.GreaterOrEqual(t, store.gets.Load()-before, int32(2), "each attempt read its subscription")
}

// hookedStore is a MemoryStore that runs afterClaim, when set, once a Claim
// has returned at least minClaimed deliveries (one if unset): a change
// racing with the claim.
type hookedStore struct {
	*webhook.MemoryStore
	afterClaim atomic.Pointer[func()]
	minClaimed int
}

func (s *hookedStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, limit, lease, skip)
	if len(cs) > 0 && len(cs) >= s.minClaimed {
		if f := s.afterClaim.Swap(nil); f != nil {
			(*f)()
		}
	}
	return cs, err
}

// TestDispatcherSubscriptionDeletedAfterClaim deletes a subscription
// through the Dispatcher between the claim of its delivery and the attempt:
// the Dispatcher rereads the subscriptions it changed, so the delivery is
// not sent, and its log says why.
func TestDispatcherSubscriptionDeletedAfterClaim(t *testing.T) {
	t.Parallel()
	store := &hookedStore{MemoryStore: webhook.NewMemoryStore()}
	d, obs := newDispatcherOn(t, store, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())
	waitPing(t, obs)

	del := func() { // on a worker's goroutine: t.Error, not require
		if err := d.DeleteSubscription(context.Background(), sub.ID); err != nil {
			t.Error(err)
		}
	}
	store.afterClaim.Store(&del)
	require.NoError(t, d.Publish(context.Background(), webhook.Event{
		Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
	}))
	requireUnsent(t, obs, store.MemoryStore)
	require.Empty(t, ep.requests(), "nothing is sent for a deleted subscription")
	require.ErrorIs(t, d.DeleteSubscription(context.Background(), sub.ID), webhook.ErrNotFound)
}

// TestDispatcherSubscriptionDeletedElsewhere deletes a subscription in the
// store, as another process would, right after a claim of two of its
// deliveries; the first is sent at once, with the subscription its claim
// returned (the window the Dispatcher documents), while the endpoint takes
// 300 ms to answer it. The second, claimed longer than 250 ms before its
// turn, has its subscription read again: found deleted, it is not sent.
func TestDispatcherSubscriptionDeletedElsewhere(t *testing.T) {
	t.Parallel()
	store := &hookedStore{MemoryStore: webhook.NewMemoryStore(), minClaimed: 2}
	d, obs := newDispatcherOn(t, store, func(c *webhook.Config) { c.Workers = 1 })
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) })
	sub, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, d.Publish(context.Background(), webhook.Event{
			Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
		}))
	}
	del := func() {
		if err := store.MemoryStore.DeleteSubscription(context.Background(), sub.ID); err != nil {
			t.Error(err)
		}
	}
	store.afterClaim.Store(&del) // on the claim of both events, after the ping's
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())

	var sent, unsent int
	for range 3 { // the ping and the two events, in any order
		dl := testwait.Recv(t, obs.ended, "delivery did not end")
		if dl.EventType == webhook.EventPing {
			continue
		}
		as, err := store.ListAttempts(context.Background(), dl.ID)
		require.NoError(t, err)
		require.Len(t, as, 1)
		if dl.State == webhook.StateSucceeded {
			sent++
			continue
		}
		require.Equal(t, webhook.StateFailed, dl.State)
		require.Contains(t, as[0].Error, "subscription deleted")
		unsent++
	}
	// The first event is sent unless the machine stalled its worker for
	// 250 ms; the second, read again after waiting 300 ms, never is.
	require.Equal(t, 2, sent+unsent)
	require.GreaterOrEqual(t, unsent, 1, "the event that waited is read again and not sent")
	require.Len(t, ep.requests(), sent)
}

// waitPing waits for the creation ping to end.
func waitPing(t *testing.T, obs *testObserver) {
	t.Helper()
	dl := testwait.Recv(t, obs.ended, "ping did not end")
	require.Equal(t, webhook.EventPing, dl.EventType)
}

// requireUnsent waits for the next delivery to end, failed without being
// sent because its subscription was deleted.
func requireUnsent(t *testing.T, obs *testObserver, store *webhook.MemoryStore) {
	t.Helper()
	dl := testwait.Recv(t, obs.ended, "delivery did not end")
	require.Equal(t, webhook.StateFailed, dl.State)
	as, err := store.ListAttempts(context.Background(), dl.ID)
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Contains(t, as[0].Error, "subscription deleted")
	require.Zero(t, as[0].StatusCode)
}

// TestDispatcherGoneHoldsWhatWasClaimed: an endpoint answers 410 Gone while
// deliveries to it wait in its queue, claimed. The 410 disables the subscription,
// and those deliveries go back to pending to wait for it to be enabled
// again, instead of being sent to collect a 410 each and fail (a 410 is
// recorded by its worker at once, not by the recorders).
func TestDispatcherGoneHoldsWhatWasClaimed(t *testing.T) {
	t.Parallel()
	const workers, events = 2, 12
	store := webhook.NewMemoryStore()
	d, _ := newDispatcherOn(t, store, func(c *webhook.Config) { c.Workers, c.MaxPerEndpoint = workers, workers })
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond) // while the others wait, claimed
		w.WriteHeader(http.StatusGone)
	})
	_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	for range events {
		require.NoError(t, d.Publish(context.Background(), webhook.Event{
			Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskUpdated),
		}))
	}
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())

	require.Eventually(t, func() bool {
		pending, _, err := store.ListDeliveries(context.Background(), webhook.DeliveryQuery{
			State: webhook.StatePending, Page: webhook.Page{Limit: 100}})
		require.NoError(t, err)
		return len(ep.requests()) > 0 && len(pending) == events-len(ep.requests())
	}, waitTimeout, 5*time.Millisecond, "every delivery not sent is pending again")
	require.LessOrEqual(t, len(ep.requests()), workers, "only the attempts in flight when the 410 came were sent")
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
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{sub.Secrets[0].Secret},
		Logger:  slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	hh := rv.Handler(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		if e.Type != webhook.EventPing {
			calls.Add(1)
		}
		return webhook.Permanent(errors.New("task_1 is in a project this host deleted"))
	}))
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

// TestDispatcherPublishesGoldenSamples checks that every golden sample of
// testdata/events, the catalog's own envelopes, passes Publish's checks
// and is delivered with its data unchanged.
func TestDispatcherPublishesGoldenSamples(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	_, err := h.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: "https://hooks.example.com/x", EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	files, err := filepath.Glob("testdata/events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	published := 0
	for _, path := range files {
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		sample, err := webhook.ParseEvent(body)
		require.NoError(t, err, path)
		if sample.Type == webhook.EventPing {
			continue // sent by the Dispatcher, never published
		}
		e := webhook.Event{ID: sample.ID, Type: sample.Type, Timestamp: sample.Timestamp,
			OrganizationID: sample.OrganizationID, ProjectID: sample.ProjectID, Data: sample.Data}
		require.NoError(t, h.d.Publish(context.Background(), e), path)
		dls, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{EventType: sample.Type})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		got, err := webhook.ParseEvent(dls[0].Body)
		require.NoError(t, err)
		require.JSONEq(t, string(sample.Data), string(got.Data))
		published++
	}
	require.Equal(t, len(files)-1, published)
}
