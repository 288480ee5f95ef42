//go:build unix

package storebench_test

import (
	"context"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"

	"github.com/onplana/webhook/internal/durabletest"
)

// TestIdleCPU measures the CPU time this process uses over 5 seconds while
// a started Dispatcher on pgstore waits for work: it should be near zero
// (one indexed claim query per poll interval, no busy polling). It fails
// above 2% of one core.
func TestIdleCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("idle CPU measurement skipped in -short mode")
	}
	var pg storeCase
	for _, sc := range stores {
		if sc.name == "postgres" {
			pg = sc
		}
	}
	ctx := context.Background()
	store, _ := pg.open(t)
	d := newDispatcher(t, store, nil)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Let start-up work (connections, the LISTEN) finish before measuring:
	// one poll round-trip through the queue.
	recv := durabletest.NewReceiver(t)
	if err := recv.Subscribe(ctx, store, "org_idle", 1); err != nil {
		t.Fatal(err)
	}
	if err := durabletest.Publish(ctx, store, "org_idle", 1); err != nil {
		t.Fatal(err)
	}
	durabletest.Wait(t, recv.Processed(1), 30*time.Second, "the warm-up delivery")

	const window = 5 * time.Second
	before, _ := benchcpu.Process()
	start := time.Now()
	<-time.After(window) // the measurement itself is the wait
	after, ok := benchcpu.Process()
	if !ok {
		t.Skip("the process's CPU time is unknown here")
	}
	used, elapsed := after-before, time.Since(start)
	share := used.Seconds() / elapsed.Seconds()
	t.Logf("idle dispatcher on pgstore: %v CPU in %v (%.2f%% of one core)", used, elapsed.Round(time.Millisecond), 100*share)
	if share > 0.02 {
		t.Fatalf("idle CPU %.2f%% of one core, want under 2%%", 100*share)
	}
}
