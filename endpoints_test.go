package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// heldFor returns a claimed delivery of subscription sub, sent to url.
func heldFor(id, sub, url string) held {
	return held{Claimed: Claimed{
		Delivery:     &Delivery{ID: id, SubscriptionID: sub},
		Subscription: &Subscription{ID: sub, URL: url},
	}}
}

// TestEndpointQueuesTakeTurns checks that the workers get the endpoints'
// deliveries round robin, at most maxPer of one endpoint at once, each
// endpoint's in the order claimed.
func TestEndpointQueuesTakeTurns(t *testing.T) {
	t.Parallel()
	qs := newEndpointQueues(4, 2)
	qs.add([]held{
		heldFor("a1", "sub_a", "https://a.example/x"),
		heldFor("a2", "sub_a", "https://a.example/y"),
		heldFor("a3", "sub_a2", "https://A.example/z"), // same host: same endpoint
		heldFor("b1", "sub_b", "https://b.example/"),
		heldFor("b2", "sub_b", "https://b.example/"),
	})
	var got []string
	var taken []*endpointQueue
	for range 4 {
		h, q, _, ok := qs.next()
		require.True(t, ok)
		got = append(got, h.Delivery.ID)
		taken = append(taken, q)
	}
	require.Equal(t, []string{"a1", "b1", "a2", "b2"}, got, "round robin over the endpoints")

	// Both endpoints are at their cap of 2: a3 waits for a slot of a.
	next := make(chan string)
	go func() {
		h, _, _, ok := qs.next()
		if ok {
			next <- h.Delivery.ID
		}
		close(next)
	}()
	qs.done(taken[1], "sub_b", time.Millisecond) // b's slot frees: nothing waits for b
	select {
	case id := <-next:
		t.Fatalf("%s taken while its endpoint was at its cap", id)
	case <-time.After(50 * time.Millisecond):
	}
	qs.done(taken[0], "sub_a", time.Millisecond)
	require.Equal(t, "a3", <-next)
}

// TestEndpointQueuesSaturation checks which subscriptions a claim must
// skip: those of an endpoint holding as many waiting deliveries as it has
// earned, and that close hands back what waits.
func TestEndpointQueuesSaturation(t *testing.T) {
	t.Parallel()
	qs := newEndpointQueues(32, 4) // 256 may wait; an unproven endpoint 8
	var batch []held
	for i := range 8 {
		batch = append(batch, heldFor(string(rune('a'+i)), "sub_slow", "https://slow.example/"))
	}
	batch = append(batch, heldFor("fast1", "sub_fast", "https://fast.example/"))
	qs.add(batch)
	limit, skip := qs.room()
	require.Equal(t, maxClaimBatch, limit)
	require.Equal(t, []string{"sub_slow"}, skip, "8 waiting for an endpoint with no attempt finished")

	h, q, refill, _ := qs.next()
	require.Equal(t, "a", h.Delivery.ID)
	require.True(t, refill, "7 waiting: no longer saturated")
	_, skip = qs.room()
	require.Empty(t, skip)
	qs.done(q, "sub_slow", time.Millisecond)

	// A slow one may hold what its slots send in holdFor: once its
	// attempts take holdFor, one round of its slots.
	for _, id := range []string{"i", "j", "k", "l", "m"} {
		qs.add([]held{heldFor(id, "sub_slow", "https://slow.example/")})
	}
	for range 8 {
		h, q, _, _ := qs.next()
		took := holdFor
		if h.Delivery.SubscriptionID == "sub_fast" {
			took = time.Millisecond
		}
		qs.done(q, h.Delivery.SubscriptionID, took)
	}
	_, skip = qs.room()
	require.Equal(t, []string{"sub_slow"}, skip, "5 waiting, more than one round of its slots")

	left := qs.close()
	require.Len(t, left, 5)
	_, _, _, ok := qs.next()
	require.False(t, ok, "closed")
	limit, _ = qs.room()
	require.Zero(t, limit, "no claims once closed")
}

// TestEndpointQueuesAcquire checks that an attempt outside the queues (a
// Ping) waits for a slot of its endpoint and gives up when its context
// ends.
func TestEndpointQueuesAcquire(t *testing.T) {
	t.Parallel()
	qs := newEndpointQueues(4, 1)
	qs.add([]held{heldFor("a1", "sub_a", "https://a.example/")})
	_, q, _, _ := qs.next()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := qs.acquire(ctx, q.key)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the endpoint's only slot is taken")

	acquired := make(chan *endpointQueue)
	go func() {
		p, err := qs.acquire(context.Background(), q.key)
		if err == nil {
			acquired <- p
		}
	}()
	qs.done(q, "sub_a", time.Millisecond)
	p := <-acquired
	require.Equal(t, 1, p.inflight)
	qs.done(p, "", time.Millisecond)
	require.NotContains(t, qs.byKey, q.key, "an idle endpoint is forgotten")
}

// TestClaimKnowledge checks when the claim loop may skip a claim: only
// after a short claim, and only while the claim would skip at least the
// subscriptions that one skipped.
func TestClaimKnowledge(t *testing.T) {
	t.Parallel()
	var k claimKnowledge
	require.False(t, k.useless(nil), "nothing known yet")
	k.learn([]string{"sub_a", "sub_b"})
	tests := []struct {
		skip    []string
		useless bool
	}{
		{[]string{"sub_a", "sub_b"}, true},
		{[]string{"sub_b", "sub_a", "sub_c"}, true},
		{[]string{"sub_a", "sub_a"}, false}, // sub_b's deliveries may be claimed now
		{[]string{"sub_a"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.useless, k.useless(tt.skip), "skip %v", tt.skip)
	}
	k.learn(nil)
	require.True(t, k.useless(nil), "a short claim that skipped nothing: nothing is due")
	k.exhausted = false // what the loop does on a notification, the poll or a due time
	require.False(t, k.useless([]string{"sub_a", "sub_b"}))
}
