package durabletest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onplana/webhook"
)

// CrashConfig describes a crash-and-restart run.
type CrashConfig struct {
	Events        int      // events published
	Subscriptions int      // subscriptions each event goes to
	Workers       int      // the child's Config.Workers
	ChildEnv      []string // how the child opens the store
	// Timeout bounds each phase (publishing, delivering before and after
	// the kill).
	Timeout time.Duration
}

// RunCrash publishes cfg.Events × cfg.Subscriptions deliveries into store,
// starts a child dispatcher on it, SIGKILLs the child once a third of them
// reached the receiver, starts a new child (its clock LeaseWait ahead, so
// the killed child's leases have expired), and waits until every delivery
// was processed. It fails the test unless the receiver's handler ran
// exactly once per delivery id and the store ends with every delivery
// succeeded, and returns what the receiver counted.
func RunCrash(t *testing.T, store webhook.Store, cfg CrashConfig) Counts {
	t.Helper()
	ctx := context.Background()
	total := cfg.Events * cfg.Subscriptions
	recv := NewReceiver(t)
	if err := recv.Subscribe(ctx, store, "org_crash", cfg.Subscriptions); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := Publish(pctx, store, "org_crash", cfg.Events); err != nil {
		t.Fatal(err)
	}
	t.Logf("published %d events (%d deliveries) in %v", cfg.Events, total, time.Since(start).Round(time.Millisecond))

	first := StartChild(t, "first", cfg.Workers, 0, cfg.ChildEnv...)
	Wait(t, recv.Processed(total/3), cfg.Timeout, "a third of the deliveries before the kill")
	first.Kill()
	atKill := recv.Counts()
	t.Logf("SIGKILLed the first dispatcher after %d distinct deliveries", atKill.Distinct)

	second := StartChild(t, "second", cfg.Workers, LeaseWait, cfg.ChildEnv...)
	Wait(t, recv.Processed(total), cfg.Timeout, "every delivery after the restart")
	// Those in flight at the kill reached the receiver already; the second
	// dispatcher sends them again (the receiver answers from its dedupe
	// store) and records them.
	WaitSettled(t, store, cfg.Timeout)
	second.Stop(30 * time.Second)
	elapsed := time.Since(start)

	c := recv.Counts()
	if c.Distinct != total {
		t.Fatalf("receiver processed %d distinct deliveries, want %d", c.Distinct, total)
	}
	if c.HandlerRan != total {
		t.Fatalf("handler ran %d times for %d deliveries: idempotency let a duplicate through", c.HandlerRan, total)
	}
	states, err := CountStates(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if states[webhook.StateSucceeded] != total || len(states) != 1 {
		t.Fatalf("delivery states after the run: %v, want all %d succeeded", states, total)
	}
	t.Logf("crash test: %d distinct deliveries processed, %d requests received, %d duplicates (%.2f%%), "+
		"%d handled by the killed dispatcher, %d by the restarted one; %v in all",
		c.Distinct, c.Requests, c.Duplicates(), 100*float64(c.Duplicates())/float64(total),
		c.ByAgent["first"], c.ByAgent["second"], elapsed.Round(time.Millisecond))
	return c
}

// RunGone runs a Dispatcher on store against an endpoint that answers 410
// Gone while deliveries to it wait in its queue, claimed. The 410
// disables the subscription; the deliveries not yet attempted go back to
// pending and wait, unclaimed; enabling the subscription sends each of them
// once. It fails the test unless at most the attempts in flight when the
// 410 came (one per worker) were sent before the subscription was disabled.
func RunGone(t *testing.T, store webhook.Store) {
	t.Helper()
	const workers, events = 4, 40
	ctx := context.Background()
	var gone atomic.Bool
	var requests atomic.Int32
	gone.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			return // the creation ping: 200
		}
		requests.Add(1)
		if gone.Load() {
			time.Sleep(20 * time.Millisecond) // while the others wait, claimed
			w.WriteHeader(http.StatusGone)
		}
	}))
	t.Cleanup(srv.Close)
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Workers: workers, MaxPerEndpoint: workers, AllowHTTP: true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		PollInterval:    50 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_gone", URL: srv.URL + "/hook", EventTypes: []string{"task.*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range events {
		if err := d.Publish(ctx, webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_gone", ProjectID: "proj_1",
			Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(ctx); err != nil {
			t.Error(err)
		}
	})

	count := func(state webhook.DeliveryState) int {
		ds, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{
			SubscriptionID: sub.ID, EventType: webhook.EventTaskUpdated, State: state, Page: webhook.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	waitFor(t, 10*time.Second, "the 410s failed, the rest wait", func() bool {
		sent := int(requests.Load())
		return sent > 0 && count(webhook.StateFailed) == sent && count(webhook.StatePending) == events-sent
	})
	sent := int(requests.Load())
	if sent > workers {
		t.Fatalf("%d deliveries were sent to the gone endpoint; only the %d in flight when the 410 came should be", sent, workers)
	}
	got, err := store.GetSubscription(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || got.DisabledReason != webhook.DisabledGone {
		t.Fatalf("subscription disabled %v (%q), want disabled for 410 Gone", got.Disabled, got.DisabledReason)
	}

	gone.Store(false)
	if _, err := d.SetSubscriptionEnabled(ctx, sub.ID, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "enabled again: the waiting deliveries are sent", func() bool {
		return count(webhook.StateSucceeded) == events-sent
	})
	if n := requests.Load(); n != events {
		t.Fatalf("the endpoint got %d requests for %d deliveries, want each once", n, events)
	}
	t.Logf("410 Gone: %d of %d deliveries sent before the subscription was disabled", sent, events)
}

// waitFor polls cond every 10 ms until it holds, or fails the test after
// timeout, saying what it waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
