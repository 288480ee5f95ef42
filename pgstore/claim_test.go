package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

// statements counts the statements a pool sends.
type statements struct{ n atomic.Int64 }

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (*statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestClaimReadsStaleDeliveryAgain checks how Claim handles a delivery row
// read in its snapshot while a concurrent Complete replaced it: the
// attempt count kept on the queue row differs, and Claim reads that
// delivery again instead of handing out its previous attempt count. The
// race needs a Complete committing within a statement's lifetime; the
// test reproduces its trace in the tables (a queue row whose count is
// ahead of its delivery row) and counts Claim's statements.
func TestClaimReadsStaleDeliveryAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var count statements
	pool := pgtest.NewSchemaPoolConfig(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = &count })
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(ctx))
	sub := testSubscription("sub_a", "org_1", "task.*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Enqueue(ctx, testDeliveries(1, sub, t0)))

	claim := func(now time.Time) (*webhook.Delivery, int64) {
		t.Helper()
		before := count.n.Load()
		got, err := s.Claim(ctx, now, 10, time.Minute, nil)
		require.NoError(t, err)
		require.Len(t, got, 1)
		return got[0].Delivery, count.n.Load() - before
	}

	// The counts kept in step: a retry recorded by Complete is claimed
	// in one statement, with its attempt count.
	d, n := claim(t0)
	require.EqualValues(t, 1, n)
	d.State, d.AttemptCount, d.NextAttemptAt = webhook.StatePending, 1, t0.Add(time.Second)
	require.NoError(t, s.Complete(ctx, d, &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 500}))
	d, n = claim(t0.Add(time.Second))
	require.EqualValues(t, 1, n, "queue row and delivery row agree")
	require.Equal(t, 1, d.AttemptCount)

	// The trace of the race: the queue row is ahead of the delivery row.
	_, err = pool.Exec(ctx, `UPDATE webhook_queue SET attempt_count = attempt_count + 1`)
	require.NoError(t, err)
	later := t0.Add(2 * time.Minute) // the lease above has expired
	d, n = claim(later)
	require.EqualValues(t, 2, n, "the claim, then the delivery read again")
	want, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, want, d, "what a read made after the claim returns")
	require.Equal(t, webhook.StateDelivering, d.State)
	require.Equal(t, later.Add(time.Minute), d.LeaseExpiresAt)
}
