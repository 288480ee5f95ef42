package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// Failures: what each class of failure does to a delivery, retries and
// their schedule, disabling an endpoint, and sending again by hand.

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
