package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/storetest"
)

// TestConformanceTuned runs the suite with the opt-in speed-ups on: a
// single Store must keep the whole contract with them.
func TestConformanceTuned(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store {
		s, err := pgstore.New(pgtest.NewSchemaPool(t), &pgstore.Config{ClaimPrefetch: 16, SubscriptionCacheTTL: time.Hour})
		require.NoError(t, err)
		require.NoError(t, s.Migrate(t.Context()))
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

func TestClaimPrefetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	s, err := pgstore.New(pool, &pgstore.Config{ClaimPrefetch: 8})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	other, err := pgstore.New(pool, nil) // another process
	require.NoError(t, err)
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Enqueue(ctx, testDeliveries(20, sub, t0)))

	first, err := s.Claim(ctx, t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 1, "the caller gets what it asked for")

	rest, err := other.Claim(ctx, t0, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, rest, 12, "the 8 prefetched are held")
	held := map[string]bool{first[0].ID: true}
	for _, d := range rest {
		held[d.ID] = true
	}

	// The next Claims within MaxPrefetchAge come from memory; each
	// delivery is handed out once.
	for range 3 {
		ds, err := s.Claim(ctx, t0.Add(time.Millisecond), 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.False(t, held[ds[0].ID], "handed out twice: %s", ds[0].ID)
		held[ds[0].ID] = true
		// Prefetched deliveries carry their real lease: Complete works.
		ds[0].State, ds[0].AttemptCount = webhook.StateSucceeded, 1
		require.NoError(t, s.Complete(ctx, ds[0], &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 204}))
	}

	// Close returns the 4 still waiting to pending.
	require.NoError(t, s.Close())
	back, err := other.Claim(ctx, t0, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, back, 4)
	for _, d := range back {
		require.False(t, held[d.ID], "released delivery %s was handed out", d.ID)
	}
}

func TestClaimPrefetchExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := pgstore.New(pgtest.NewSchemaPool(t), &pgstore.Config{ClaimPrefetch: 8})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	t.Cleanup(func() { s.Close() })
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Enqueue(ctx, testDeliveries(3, sub, t0)))

	_, err = s.Claim(ctx, t0, 1, time.Minute)
	require.NoError(t, err)
	// Past MaxPrefetchAge the 2 prefetched go back and are claimed afresh,
	// with a lease counted from the new now.
	later := t0.Add(pgstore.MaxPrefetchAge + time.Millisecond)
	ds, err := s.Claim(ctx, later, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, later.Add(time.Minute), ds[0].LeaseExpiresAt)
}

func TestSubscriptionCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	cached, err := pgstore.New(pool, &pgstore.Config{SubscriptionCacheTTL: time.Hour})
	require.NoError(t, err)
	require.NoError(t, cached.Migrate(ctx))
	other, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, cached.CreateSubscription(ctx, sub))

	got, err := cached.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	got.URL = "https://mutated.example" // callers get copies
	got, err = cached.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	require.Equal(t, sub.URL, got.URL)

	changed := *sub
	changed.URL = "https://other.example/hook"
	require.NoError(t, other.UpdateSubscription(ctx, &changed))
	got, err = cached.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	require.Equal(t, sub.URL, got.URL, "another process's change shows after the TTL")

	mine := *sub
	mine.Description = "mine"
	require.NoError(t, cached.UpdateSubscription(ctx, &mine))
	got, err = cached.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	require.Equal(t, "mine", got.Description, "this Store's change shows at once")

	require.NoError(t, cached.DeleteSubscription(ctx, "sub_a"))
	_, err = cached.GetSubscription(ctx, "sub_a")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}
