package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDispatcherCloseReleasesClaimedAhead checks that the deliveries a
// worker claimed ahead for the others go back to pending when the
// Dispatcher closes, rather than waiting for their leases to expire.
func TestDispatcherCloseReleasesClaimedAhead(t *testing.T) {
	t.Parallel()
	const events = 2 * claimAhead
	var requests atomic.Int32
	second := make(chan struct{})
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 2 { // the first delivery the worker claimed itself
			close(second)
			<-unblock
		}
	}))
	defer srv.Close()

	store := NewMemoryStore()
	d, err := NewDispatcher(store, &Config{
		Workers:         1,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = d.CreateSubscription(ctx, SubscriptionParams{OrganizationID: "org_1", URL: srv.URL + "/hook", EventTypes: []string{"task.*"}})
	require.NoError(t, err)
	for range events {
		require.NoError(t, d.Publish(ctx, Event{Type: EventTaskUpdated, OrganizationID: "org_1", Data: []byte(`{}`)}))
	}
	require.NoError(t, d.Start(ctx))
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not claim its next delivery")
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Close(ctx) }()
	close(unblock)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}

	dls, _, err := store.ListDeliveries(ctx, DeliveryQuery{EventType: EventTaskUpdated, Page: Page{Limit: 100}})
	require.NoError(t, err)
	require.Len(t, dls, events)
	counts := map[DeliveryState]int{}
	for _, dl := range dls {
		counts[dl.State]++
	}
	require.Equal(t, 1, counts[StateSucceeded], "the attempt in flight was recorded")
	require.Equal(t, events-1, counts[StatePending], "the rest is pending, none left delivering: %v", counts)
}
