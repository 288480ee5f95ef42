package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// states counts the deliveries of the store by state, pings included.
func states(t *testing.T, store webhook.Store) map[webhook.DeliveryState]int {
	t.Helper()
	dls, _, err := store.ListDeliveries(context.Background(), webhook.DeliveryQuery{Page: webhook.Page{Limit: webhook.MaxPageSize}})
	require.NoError(t, err)
	n := map[webhook.DeliveryState]int{}
	for _, dl := range dls {
		n[dl.State]++
	}
	return n
}

func drainWithin(t *testing.T, d *webhook.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, d.Drain(ctx))
}

// After Drain, every delivery that was due has been attempted: no polling
// of the delivery log needed.
func TestDispatcherDrainWaitsForDueDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ok := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	h.subscribe(t, ok.URL, "", "*")
	h.subscribe(t, ok.URL+"/other", "", "task.*")
	h.start(t)
	for range 10 {
		h.publish(t, webhook.EventTaskUpdated)
	}
	drainWithin(t, h.d)
	require.Equal(t, map[webhook.DeliveryState]int{webhook.StateSucceeded: 22}, states(t, h.store), "20 events and 2 pings")
	require.Len(t, ok.requests(), 20)
}

// A failing endpoint's retries are not due yet: Drain returns after the
// first attempts, with the retries scheduled.
func TestDispatcherDrainDoesNotWaitForLaterRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: time.Hour, MaxElapsed: 24 * time.Hour}
	})
	failing := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	h.subscribe(t, failing.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)
	drainWithin(t, h.d)
	require.Equal(t, map[webhook.DeliveryState]int{webhook.StateSucceeded: 1, webhook.StatePending: 1}, states(t, h.store))
	require.Len(t, failing.requests(), 1)
}

// The pending deliveries of a disabled subscription wait for it to be
// enabled again: Drain does not wait for them.
func TestDispatcherDrainIgnoresDisabledSubscriptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ok := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub := h.subscribe(t, ok.URL, "", "*")
	h.publish(t, webhook.EventTaskUpdated)
	_, err := h.d.SetSubscriptionEnabled(context.Background(), sub.ID, false)
	require.NoError(t, err)
	h.start(t)
	drainWithin(t, h.d)
	require.Equal(t, 2, states(t, h.store)[webhook.StatePending], "the event and the ping still wait")
	require.Empty(t, ok.requests())
}

func TestDispatcherDrainStopsWithItsContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	release := make(chan struct{})
	slow := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) { <-release })
	h.subscribe(t, slow.URL, "", "*")
	h.start(t)
	t.Cleanup(func() { close(release) })
	h.publish(t, webhook.EventTaskUpdated)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.d.Drain(ctx), context.DeadlineExceeded, "an attempt is in flight")

	// Without Start nothing is attempted, so nothing ever drains.
	idle := newHarness(t, nil, nil)
	idle.subscribe(t, slow.URL, "", "*")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	require.ErrorIs(t, idle.d.Drain(ctx2), context.DeadlineExceeded)

	require.NoError(t, idle.d.Close(context.Background()))
	require.ErrorIs(t, idle.d.Drain(context.Background()), webhook.ErrClosed)
}
