package durabletest

import (
	"context"
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
