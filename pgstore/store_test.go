package pgstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

// newStore returns a migrated Store on a fresh database, closed at the end
// of the test.
func newStore(t *testing.T) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, pool
}

func testSubscription(id, org string, types ...string) *webhook.Subscription {
	return &webhook.Subscription{
		ID: id, OrganizationID: org, URL: "https://example.com/hook", EventTypes: types,
		Secrets: []webhook.SigningSecret{{Secret: "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=", CreatedAt: time.Now()}},
	}
}

func testDeliveries(n int, sub *webhook.Subscription, due time.Time) []*webhook.Delivery {
	out := make([]*webhook.Delivery, n)
	for i := range out {
		out[i] = &webhook.Delivery{
			ID: fmt.Sprintf("dlv_%s_%06d", sub.ID, i), EventID: fmt.Sprintf("evt_%06d", i),
			EventType: webhook.EventType("task.created"), SubscriptionID: sub.ID,
			OrganizationID: sub.OrganizationID, Body: []byte(`{}`), NextAttemptAt: due,
		}
	}
	return out
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	// Four "processes" start together.
	var g errgroup.Group
	for range 4 {
		g.Go(func() error {
			s, err := pgstore.New(pool, nil)
			if err != nil {
				return err
			}
			return s.Migrate(ctx)
		})
	}
	require.NoError(t, g.Wait())
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx), "a second run finds nothing to do")

	var n, max int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), max(version) FROM webhook_schema_migrations`).Scan(&n, &max))
	require.Equal(t, pgstore.SchemaVersion(), max)
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	require.Equal(t, len(files), n, "each migration recorded once")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := pgstore.New(nil, nil)
	var verr *webhook.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "pool", verr.Field)
}

// TestClaimConcurrentClaimersNeverShare runs claimers on separate pool
// connections against one backlog: every delivery is claimed exactly once.
func TestClaimConcurrentClaimersNeverShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	now := time.Now()
	const total = 1000
	require.NoError(t, s.Enqueue(ctx, testDeliveries(total, sub, now.Add(-time.Minute))))

	var (
		mu   sync.Mutex
		seen = make(map[string]int)
	)
	var g errgroup.Group
	for range 6 {
		g.Go(func() error {
			for {
				ds, err := s.Claim(ctx, now, 37, time.Hour, nil)
				if err != nil {
					return err
				}
				if len(ds) == 0 {
					return nil
				}
				mu.Lock()
				for _, c := range ds {
					seen[c.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	require.NoError(t, g.Wait())
	require.Len(t, seen, total)
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times", id, n)
	}
}

func TestClaimReclaimsExpiredLeaseAndOldHolderLosesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	sub := testSubscription("sub_a", "org_1", "task.*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	require.NoError(t, s.Enqueue(ctx, testDeliveries(1, sub, t0)))

	first, err := s.Claim(ctx, t0, 10, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, first, 1)

	none, err := s.Claim(ctx, t0.Add(time.Minute), 10, time.Minute, nil)
	require.NoError(t, err)
	require.Empty(t, none, "a lease expiring exactly now is still held")

	second, err := s.Claim(ctx, t0.Add(time.Minute+time.Microsecond), 10, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, second, 1)

	d := first[0].Delivery
	d.State, d.AttemptCount = webhook.StateSucceeded, 1
	err = s.Complete(ctx, d, &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 200})
	require.ErrorIs(t, err, webhook.ErrLeaseLost)

	d2 := second[0].Delivery
	d2.State, d2.AttemptCount = webhook.StateSucceeded, 1
	require.NoError(t, s.Complete(ctx, d2, &webhook.Attempt{Number: 1, StartedAt: t0, StatusCode: 200}))
	attempts, err := s.ListAttempts(ctx, d2.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the lost holder's attempt was not recorded")
}

func TestPublishTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	require.NoError(t, s.CreateSubscription(ctx, testSubscription("sub_a", "org_1", "task.*")))
	require.NoError(t, s.CreateSubscription(ctx, testSubscription("sub_b", "org_1", "project.*")))
	e, err := webhook.NewEvent(webhook.EventType("task.created"), "org_1", "proj_1", map[string]any{"task": map[string]any{"id": "t1"}})
	require.NoError(t, err)

	tests := []struct {
		name   string
		commit bool
		want   int
	}{
		{name: "rolled back leaves no delivery", commit: false, want: 0},
		{name: "committed is recorded", commit: true, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			ds, err := s.PublishTx(ctx, tx, e)
			require.NoError(t, err)
			require.Len(t, ds, 1, "one matching subscription")
			if tt.commit {
				require.NoError(t, tx.Commit(ctx))
			} else {
				require.NoError(t, tx.Rollback(ctx))
			}
			_, err = s.GetDelivery(ctx, ds[0].ID)
			if tt.want == 0 {
				require.ErrorIs(t, err, webhook.ErrNotFound)
			} else {
				require.NoError(t, err)
			}
		})
	}

	t.Run("invalid event touches nothing", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		_, err = s.PublishTx(ctx, tx, webhook.Event{Type: "task.created"})
		var verr *webhook.ValidationError
		require.ErrorAs(t, err, &verr)
		require.NoError(t, tx.Commit(ctx), "the transaction is still usable")
	})
}

// TestWorkAvailableAcrossStores checks that an enqueue through one Store
// wakes the WorkAvailable channel of another on the same database: the
// LISTEN/NOTIFY path other processes rely on.
func TestWorkAvailableAcrossStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	publisher, pool := newStore(t)
	listener, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() { listener.Close() })
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, publisher.CreateSubscription(ctx, sub))

	work := listener.WorkAvailable()
	// The first value says the listener is connected (and may have missed
	// earlier notifications).
	waitWork(t, work)

	require.NoError(t, publisher.Enqueue(ctx, testDeliveries(1, sub, time.Now())))
	waitWork(t, work)

	// A committed outbox write notifies too; a rolled-back one does not.
	e, err := webhook.NewEvent(webhook.EventType("task.created"), "org_1", "proj_1", map[string]any{"task": map[string]any{"id": "t1"}})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := publisher.PublishTx(ctx, tx, e)
		return err
	}))
	waitWork(t, work)
}

// TestListenerReconnects kills the listener's connection from the server
// side: the Store reconnects and keeps notifying.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	other, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	sub := testSubscription("sub_a", "org_1", "*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	work := s.WorkAvailable()
	waitWork(t, work)

	var killed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`).Scan(&killed))
	require.Equal(t, 1, killed)
	waitWork(t, work) // the reconnect signals

	require.NoError(t, other.Enqueue(ctx, testDeliveries(1, sub, time.Now())))
	waitWork(t, work)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
}

func waitWork(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("no work notification within 10s")
	}
}
