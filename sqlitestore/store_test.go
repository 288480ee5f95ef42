package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/sqlitestore"
)

func openStore(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func testSubscription(id, org string, types ...string) *webhook.Subscription {
	return &webhook.Subscription{ID: id, OrganizationID: org, URL: "https://example.com/hook", EventTypes: types}
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

func TestOpenValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		cfg   *sqlitestore.Config
		field string
	}{
		{name: "empty path", path: "", field: "path"},
		{name: "memory", path: ":memory:", field: "path"},
		{name: "uri", path: "file:x.db", field: "path"},
		{name: "query", path: "x.db?mode=ro", field: "path"},
		{name: "negative busy timeout", path: "x.db", cfg: &sqlitestore.Config{BusyTimeout: -1}, field: "BusyTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlitestore.Open(tt.path, tt.cfg)
			var verr *webhook.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tt.field, verr.Field)
		})
	}
}

// TestReopenKeepsQueue closes the store with work in every state and opens
// the file again: nothing is lost, and the delivery held at close is
// claimed again once its lease expires.
func TestReopenKeepsQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hooks.db")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

	s, err := sqlitestore.Open(path, nil)
	require.NoError(t, err)
	sub := testSubscription("sub_a", "org_1", "task.*")
	require.NoError(t, s.CreateSubscription(ctx, sub))
	require.NoError(t, s.Enqueue(ctx, testDeliveries(3, sub, t0)))
	held, err := s.Claim(ctx, t0, 1, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.NoError(t, s.Close())

	s = openStore(t, path)
	got, err := s.GetSubscription(ctx, "sub_a")
	require.NoError(t, err)
	require.Equal(t, []string{"task.*"}, got.EventTypes)
	pending, err := s.Claim(ctx, t0, 10, time.Hour, nil)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	reclaimed, err := s.Claim(ctx, t0.Add(time.Minute+1), 10, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, reclaimed, 1)
	require.Equal(t, held[0].Delivery.ID, reclaimed[0].Delivery.ID)
	require.Equal(t, t0, reclaimed[0].Delivery.NextAttemptAt, "nanosecond times survive")
}

// TestClaimConcurrentClaimersNeverShare: every delivery claimed exactly once.
func TestClaimConcurrentClaimersNeverShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "hooks.db"))
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
				if err != nil || len(ds) == 0 {
					return err
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
