package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/sqlitestore"
)

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "hooks.db"), &sqlitestore.Config{Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	require.NoError(t, s.Enqueue(ctx, testDeliveries(30, sub, t0)))
	claimed, err := s.Claim(ctx, t0, 25, time.Hour, nil)
	require.NoError(t, err)
	for i, c := range claimed {
		d := c.Delivery
		switch {
		case i < 12:
			d.State = webhook.StateSucceeded
		case i < 22:
			d.State = webhook.StateFailed
		default:
			d.State, d.NextAttemptAt = webhook.StatePending, t0.Add(time.Hour)
		}
		d.AttemptCount = 1
		require.NoError(t, s.Complete(ctx, d, &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 500}))
	}

	now = t0.Add(time.Hour)
	n, err := s.Prune(ctx, 2*time.Hour, 5)
	require.NoError(t, err)
	require.Zero(t, n)

	now = t0.Add(72 * time.Hour)
	n, err = s.Prune(ctx, 48*time.Hour, 5)
	require.NoError(t, err)
	require.Equal(t, int64(22), n)
	left, _, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{Page: webhook.Page{Limit: 100}})
	require.NoError(t, err)
	require.Len(t, left, 8)
	for _, d := range left {
		require.Equal(t, webhook.StatePending, d.State)
	}
	_, err = s.ListAttempts(ctx, claimed[0].Delivery.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "attempts went with their delivery")

	var verr *webhook.ValidationError
	_, err = s.Prune(ctx, 0, 5)
	require.ErrorAs(t, err, &verr)
	_, err = s.Prune(ctx, time.Hour, 0)
	require.ErrorAs(t, err, &verr)
}
