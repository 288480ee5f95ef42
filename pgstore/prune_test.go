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

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	s, err := pgstore.New(pool, &pgstore.Config{Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))

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
		default: // a retry: pending, never pruned
			d.State, d.NextAttemptAt = webhook.StatePending, t0.Add(time.Hour)
		}
		d.AttemptCount = 1
		require.NoError(t, s.Complete(ctx, d, &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 500}))
	}

	now = t0.Add(time.Hour)
	n, err := s.Prune(ctx, 2*time.Hour, 5)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is old enough yet")

	now = t0.Add(72 * time.Hour)
	n, err = s.Prune(ctx, 48*time.Hour, 5)
	require.NoError(t, err)
	require.Equal(t, int64(22), n, "every finished delivery, five at a time")

	left, _, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{Page: webhook.Page{Limit: 100}})
	require.NoError(t, err)
	require.Len(t, left, 8, "3 retries and 5 never claimed")
	for _, d := range left {
		require.Equal(t, webhook.StatePending, d.State)
	}
	var attempts int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_attempts`).Scan(&attempts))
	require.Equal(t, 3, attempts, "attempts of pruned deliveries went with them")

	_, err = s.Prune(ctx, 0, 5)
	var verr *webhook.ValidationError
	require.ErrorAs(t, err, &verr)
	_, err = s.Prune(ctx, time.Hour, 0)
	require.ErrorAs(t, err, &verr)
}
