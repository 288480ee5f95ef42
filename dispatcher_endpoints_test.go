package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// claimCountingStore is a MemoryStore that counts the deliveries its Claim
// hands out and the Releases it is asked for.
type claimCountingStore struct {
	*webhook.MemoryStore
	claimed  atomic.Int64
	released atomic.Int64
}

func (s *claimCountingStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, limit, lease, skip)
	s.claimed.Add(int64(len(cs)))
	return cs, err
}

func (s *claimCountingStore) Release(ctx context.Context, d *webhook.Delivery, at time.Time) error {
	s.released.Add(1)
	return s.MemoryStore.Release(ctx, d, at)
}

// endings is an Observer that forwards the deliveries that end, with
// room for n of them.
type endings chan webhook.Delivery

func (e endings) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}
func (e endings) DeliveryStateChanged(d *webhook.Delivery)            { e <- *d }

// backlogDispatcher returns a Dispatcher with the default Config (but for
// local endpoints) over store, and the deliveries that end, with room for
// n of them.
func backlogDispatcher(t *testing.T, store webhook.Store, n int) (*webhook.Dispatcher, endings) {
	t.Helper()
	ended := make(endings, n)
	d, _ := newDispatcherOn(t, store, func(c *webhook.Config) { c.Observer = ended })
	return d, ended
}

// concurrency tracks the requests an endpoint is serving at once.
type concurrency struct{ now, max atomic.Int32 }

// enter counts a request in; the returned func counts it out.
func (c *concurrency) enter() func() {
	n := c.now.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	return func() { c.now.Add(-1) }
}

// TestDispatcherDrainsBacklogWithoutReleasing checks, by counting, that a
// backlog to one endpoint is sent with the default Config by claiming
// each delivery once: none is claimed only to be given back to the store
// because its endpoint's slots were taken, and the endpoint gets exactly
// its DefaultMaxPerEndpoint attempts at once.
func TestDispatcherDrainsBacklogWithoutReleasing(t *testing.T) {
	t.Parallel()
	const events = 2000
	var conc concurrency
	full := make(chan struct{})
	var fullOnce atomic.Bool
	ep := newEndpoint(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		defer conc.enter()()
		if conc.now.Load() == webhook.DefaultMaxPerEndpoint && fullOnce.CompareAndSwap(false, true) {
			close(full)
		}
		if n <= webhook.DefaultMaxPerEndpoint {
			// The first attempts wait for each other: the endpoint's
			// slots are all used at once.
			select {
			case <-full:
			case <-r.Context().Done():
			}
		}
	})
	store := &claimCountingStore{MemoryStore: webhook.NewMemoryStore()}
	d, ended := backlogDispatcher(t, store, events+1)
	ctx := context.Background()
	_, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"*"}})
	require.NoError(t, err)
	for range events {
		require.NoError(t, d.Publish(ctx, webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskUpdated)}))
	}
	require.NoError(t, d.Start(ctx))
	for i := range events {
		select {
		case dl := <-ended:
			require.Equal(t, webhook.StateSucceeded, dl.State)
		case <-time.After(waitTimeout):
			t.Fatalf("%d of %d deliveries ended", i, events)
		}
	}
	require.NoError(t, d.Close(ctx))

	require.Equal(t, int32(webhook.DefaultMaxPerEndpoint), conc.max.Load(), "attempts at once to the endpoint")
	require.Zero(t, store.released.Load(), "deliveries given back to the store")
	// The ping is claimed once too.
	require.LessOrEqual(t, store.claimed.Load(), int64(events+1), "deliveries claimed")
}

// TestDispatcherSlowBacklogDoesNotDelayOthers checks per-endpoint
// isolation with backlogs, with the default Config: endpoint A answers
// after 2 s and has 1,000 deliveries due; endpoint B answers at once and
// gets 1,000 published after A's. All of B's are done before A has
// finished a tenth of its own.
func TestDispatcherSlowBacklogDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	const events = 1000
	stop := make(chan struct{})
	var slowDone atomic.Int32
	slow := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
			slowDone.Add(1)
		case <-stop:
		case <-r.Context().Done():
		}
	})
	fast := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	d, ended := backlogDispatcher(t, webhook.NewMemoryStore(), 2*events+2)
	ctx := context.Background()
	for _, sub := range []struct {
		url string
		typ webhook.EventType
	}{{slow.URL, webhook.EventTaskCreated}, {fast.URL, webhook.EventTaskUpdated}} {
		_, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: sub.url, EventTypes: []string{string(sub.typ)}})
		require.NoError(t, err)
		for range events {
			require.NoError(t, d.Publish(ctx, webhook.Event{Type: sub.typ, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(sub.typ)}))
		}
	}
	require.NoError(t, d.Start(ctx))
	for fastEnded := 0; fastEnded < events; {
		select {
		case dl := <-ended:
			if dl.EventType == webhook.EventTaskUpdated {
				require.Equal(t, webhook.StateSucceeded, dl.State)
				fastEnded++
			}
		case <-time.After(waitTimeout):
			t.Fatalf("%d of the fast endpoint's %d deliveries ended", fastEnded, events)
		}
	}
	require.Less(t, slowDone.Load(), int32(events/10), "the slow endpoint's deliveries done when the fast one's were")
	close(stop)
	require.NoError(t, d.Close(ctx))
}

// TestDispatcherPingTakesAnEndpointSlot checks that Ping, too, stays
// within the endpoint's MaxPerEndpoint: while the only slot is busy it
// waits (here until its context ends, without reaching the endpoint),
// and it goes through once the slot frees.
func TestDispatcherPingTakesAnEndpointSlot(t *testing.T) {
	t.Parallel()
	inFlight, unblock := make(chan struct{}), make(chan struct{})
	var pings atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			pings.Add(1)
			return
		}
		inFlight <- struct{}{}
		<-unblock
	}))
	t.Cleanup(srv.Close)
	d, _ := newDispatcherOn(t, webhook.NewMemoryStore(), func(c *webhook.Config) { c.MaxPerEndpoint = 1 })
	ctx := context.Background()
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: srv.URL, EventTypes: []string{"*"}})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	require.NoError(t, d.Publish(ctx, webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskUpdated)}))
	testwait.Recv(t, inFlight, "the event was not sent")
	sent := pings.Load() // the creation ping

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = d.Ping(short, sub.ID)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Ping waited for the busy slot")
	require.Equal(t, sent, pings.Load(), "no ping reached the endpoint while its slot was busy")

	close(unblock)
	a, err := d.Ping(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, a.StatusCode)
	require.NoError(t, d.Close(ctx))
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
