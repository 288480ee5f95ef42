package pgstore_test

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

	"github.com/onplana/webhook"
)

// TestDispatcherGoneAndEnabledAgain runs a Dispatcher on pgstore against an
// endpoint that answers 410 Gone while deliveries to it wait, claimed ahead
// (the workers claim them 64 at a time). The 410 disables the subscription;
// the deliveries not yet attempted go back to pending and wait, unclaimed;
// enabling the subscription sends them, each once.
func TestDispatcherGoneAndEnabledAgain(t *testing.T) {
	t.Parallel()
	const workers, events = 4, 40
	ctx := context.Background()
	s, _ := newStore(t)
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
	d, err := webhook.NewDispatcher(s, &webhook.Config{
		Workers: workers, MaxPerEndpoint: workers, AllowHTTP: true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		PollInterval:    50 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: srv.URL + "/hook", EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	for range events {
		require.NoError(t, d.Publish(ctx, webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", Data: []byte(`{}`)}))
	}
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { require.NoError(t, d.Close(ctx)) })

	count := func(state webhook.DeliveryState) int {
		ds, _, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{
			SubscriptionID: sub.ID, EventType: webhook.EventTaskUpdated, State: state, Page: webhook.Page{Limit: 100}})
		require.NoError(t, err)
		return len(ds)
	}
	require.Eventually(t, func() bool {
		sent := int(requests.Load())
		return sent > 0 && count(webhook.StateFailed) == sent && count(webhook.StatePending) == events-sent
	}, 10*time.Second, 10*time.Millisecond, "the 410s failed, the rest wait")
	sent := int(requests.Load())
	require.LessOrEqual(t, sent, workers, "only the attempts in flight when the 410 came were sent")
	got, err := s.GetSubscription(ctx, sub.ID)
	require.NoError(t, err)
	require.True(t, got.Disabled)
	require.Equal(t, webhook.DisabledGone, got.DisabledReason)

	gone.Store(false)
	_, err = d.SetSubscriptionEnabled(ctx, sub.ID, true)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return count(webhook.StateSucceeded) == events-sent },
		10*time.Second, 10*time.Millisecond, "enabled again: the waiting deliveries are sent")
	require.EqualValues(t, events, requests.Load(), "each once")
}
