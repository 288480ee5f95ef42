package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/internal/testwait"
)

// TestDispatcherCloseReleasesWaiting checks that the deliveries claimed
// and waiting for their endpoint go back to pending when the Dispatcher
// closes, rather than waiting for their leases to expire.
func TestDispatcherCloseReleasesWaiting(t *testing.T) {
	t.Parallel()
	const events = 16
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
	d := publishedDispatcher(t, store, 1, srv, events)
	ctx := context.Background()
	require.NoError(t, d.Start(ctx))
	testwait.Recv(t, second, "the worker did not send its first delivery")
	closed := make(chan error, 1)
	go func() { closed <- d.Close(ctx) }()
	// Let the attempt in flight end only once Close has stopped the
	// claiming: otherwise the worker may go on to its next delivery first.
	<-d.closed
	d.mu.Lock() // Close closes d.closed and stops the loop under d.mu
	closing := d.closing
	d.mu.Unlock()
	require.True(t, closing, "Close marks the Dispatcher closing where it stops the loop")
	close(unblock)
	err := testwait.Recv(t, closed, "Close did not return")
	require.NoError(t, err)

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

// gatedStore is a MemoryStore with hooks that, when set, run at the start
// of Claim and Complete.
type gatedStore struct {
	*MemoryStore
	onClaim    func(n int) // n counts the Claims, from 1
	onComplete func()
	claims     atomic.Int32
}

func (s *gatedStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]Claimed, error) {
	n := int(s.claims.Add(1))
	if s.onClaim != nil {
		s.onClaim(n)
	}
	return s.MemoryStore.Claim(ctx, now, limit, lease, skip)
}

func (s *gatedStore) Complete(ctx context.Context, d *Delivery, a *Attempt) error {
	if s.onComplete != nil {
		s.onComplete()
	}
	return s.MemoryStore.Complete(ctx, d, a)
}

// countingServer counts the requests it answers and signals each.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32, chan struct{}) {
	t.Helper()
	var n atomic.Int32
	arrived := make(chan struct{}, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		arrived <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return srv, &n, arrived
}

// waitCount waits until n reaches want, reading arrived.
func waitCount(t *testing.T, n *atomic.Int32, arrived <-chan struct{}, want int32, what string) {
	t.Helper()
	for n.Load() < want {
		testwait.Recv(t, arrived, fmt.Sprintf("%s: %d requests, want %d", what, n.Load(), want))
	}
}

// publishedDispatcher returns a Dispatcher over store with the given
// number of workers, not started, that has subscribed srv to every event
// of org_1 (which enqueued a ping) and published events task.updated
// events.
func publishedDispatcher(t *testing.T, store Store, workers int, srv *httptest.Server, events int) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(store, &Config{
		Workers:         workers,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = d.CreateSubscription(ctx, SubscriptionParams{OrganizationID: "org_1", URL: srv.URL + "/hook", EventTypes: []string{"*"}})
	require.NoError(t, err)
	for range events {
		require.NoError(t, d.Publish(ctx, Event{Type: EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`)}))
	}
	return d
}

// requireAllSucceeded checks that every delivery in store succeeded.
func requireAllSucceeded(t *testing.T, store *MemoryStore, want int) {
	t.Helper()
	dls, _, err := store.ListDeliveries(context.Background(), DeliveryQuery{Page: Page{Limit: 1000}})
	require.NoError(t, err)
	require.Len(t, dls, want)
	for _, dl := range dls {
		require.Equal(t, StateSucceeded, dl.State, "delivery %s", dl.ID)
	}
}

// TestDispatcherSendsWhileRecording checks that a worker sends its next delivery while the store records its last one:
// with every Complete blocked, the workers still send twice their number
// (once each, then once more per result waiting to be recorded), and
// Close waits for the results before it returns.
func TestDispatcherSendsWhileRecording(t *testing.T) {
	t.Parallel()
	const workers, events = 2, 10
	srv, requests, arrived := countingServer(t)
	gate := make(chan struct{})
	store := &gatedStore{MemoryStore: NewMemoryStore(), onComplete: func() { <-gate }}
	d := publishedDispatcher(t, store, workers, srv, events)
	ctx := context.Background()
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { d.Close(ctx) })
	open := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(open) // before Close, when the test fails
	waitCount(t, requests, arrived, 2*workers, "with every Complete blocked")

	closed := make(chan error, 1)
	go func() { closed <- d.Close(ctx) }()
	open()
	err := testwait.Recv(t, closed, "Close did not return")
	require.NoError(t, err)
	// Close stopped claiming: what was sent is recorded, the rest pending.
	dls, _, err := store.ListDeliveries(ctx, DeliveryQuery{Page: Page{Limit: 100}})
	require.NoError(t, err)
	counts := map[DeliveryState]int{}
	for _, dl := range dls {
		counts[dl.State]++
	}
	require.Equal(t, int(requests.Load()), counts[StateSucceeded], "every delivery sent is recorded: %v", counts)
	require.Equal(t, events+1, counts[StateSucceeded]+counts[StatePending], "none left delivering: %v", counts)
}

// TestDispatcherClaimsWhileSending checks that the next batch is claimed
// while the workers still have claimed deliveries to send, and that they
// send them during that claim. The endpoint holds every request after a
// batch's worth until the refill has begun, and the refill is held until
// the first claim's deliveries are all sent.
func TestDispatcherClaimsWhileSending(t *testing.T) {
	t.Parallel()
	const workers = 4
	qs := newEndpointQueues(workers, DefaultMaxPerEndpoint)
	events := 2 * qs.maxWaiting // the ping is one more
	var requests atomic.Int32
	arrived := make(chan struct{}, 2*events)
	refilling, sending := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > int32(qs.batch) {
			<-sending
		}
		arrived <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	claimed := make(chan struct{})
	store := &gatedStore{MemoryStore: NewMemoryStore()}
	// Claim 1 fills the queues (the ping and the first events); 2 is the
	// refill, made once the workers have taken a batch's worth from them.
	store.onClaim = func(n int) {
		if n == 2 {
			close(refilling)
			<-claimed
		}
	}
	d := publishedDispatcher(t, store, workers, srv, events)
	ctx := context.Background()
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { d.Close(ctx) })
	letSend := sync.OnceFunc(func() { close(sending) })
	letClaim := sync.OnceFunc(func() { close(claimed) })
	t.Cleanup(letClaim) // before Close, when the test fails
	t.Cleanup(letSend)

	testwait.Recv(t, refilling, "no refill while the endpoint held its requests")
	require.LessOrEqual(t, requests.Load(), int32(qs.batch+workers),
		"the refill began with deliveries still waiting in the queues")
	letSend()
	// Everything the first claim took is sent while the refill is blocked.
	answered := 0
	waitAnswered := func(want int, what string) {
		t.Helper()
		for ; answered < want; answered++ {
			testwait.Recv(t, arrived, fmt.Sprintf("%s: %d requests answered, want %d", what, answered, want))
		}
	}
	waitAnswered(qs.maxWaiting, "during the refill")
	letClaim()
	waitAnswered(events+1, "after the refill")
	require.NoError(t, d.Close(ctx))
	requireAllSucceeded(t, store.MemoryStore, events+1)
}
