package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

// TestClaimedSubscription checks the subscriptions Claim reads for the
// Dispatcher: a copy as of the claim, never older than the delivery's
// claim, forgotten when this Store changes the subscription.
func TestClaimedSubscription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	other, err := pgstore.New(pool, nil) // another process
	require.NoError(t, err)
	sub := testSubscription("sub_a", "org_1", "task.*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Enqueue(ctx, testDeliveries(4, sub, t0)))

	_, ok := s.ClaimedSubscription(&webhook.Delivery{ID: "dlv_x", SubscriptionID: "sub_a"})
	require.False(t, ok, "nothing claimed yet")
	_, ok = s.ClaimedSubscription(nil)
	require.False(t, ok)

	claimed, err := s.Claim(ctx, t0, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	want, err := s.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	got, ok := s.ClaimedSubscription(claimed[0])
	require.True(t, ok)
	require.Equal(t, want, got, "the same subscription GetSubscription returns")

	// A copy: the caller may modify it.
	got.URL, got.EventTypes[0], got.Secrets[0].Secret = "https://other.example/", "x.y", "changed"
	again, ok := s.ClaimedSubscription(claimed[1])
	require.True(t, ok)
	require.Equal(t, want, again)

	// Only deliveries claimed at or before the read may use it.
	later := *claimed[0]
	later.UpdatedAt = t0.Add(time.Second)
	_, ok = s.ClaimedSubscription(&later)
	require.False(t, ok, "claimed after the subscription was read")
	_, ok = other.ClaimedSubscription(claimed[0])
	require.False(t, ok, "another Store did not claim it")

	// A change by another process is seen by the next claim.
	changed := *want
	changed.URL = "https://example.com/new"
	require.NoError(t, other.UpdateSubscription(ctx, &changed))
	next, err := s.Claim(ctx, t0.Add(time.Millisecond), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, next, 1)
	got, ok = s.ClaimedSubscription(next[0])
	require.True(t, ok)
	require.Equal(t, "https://example.com/new", got.URL)

	// A change through this Store is seen at once.
	changed.URL = "https://example.com/newer"
	require.NoError(t, s.UpdateSubscription(ctx, &changed))
	_, ok = s.ClaimedSubscription(next[0])
	require.False(t, ok, "changed through this Store after the claim")
}
