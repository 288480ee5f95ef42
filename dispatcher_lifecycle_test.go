package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// The Dispatcher's lifecycle: configuration, Start, and Close losing
// nothing.

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
		{"retry multiplier below 1", webhook.Config{RetryPolicy: webhook.ExponentialRetry{Multiplier: 0.5}}, "RetryPolicy.Multiplier"},
		{"negative retry interval", webhook.Config{RetryPolicy: webhook.ExponentialRetry{MaxInterval: -time.Second}}, "RetryPolicy.MaxInterval"},
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
