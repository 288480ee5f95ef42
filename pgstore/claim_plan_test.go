package pgstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
)

// TestClaimPlanUsesIndex checks, with EXPLAIN, that the claim statement
// walks the due index of the queue and finds its rows and their
// deliveries by primary key, whatever the planner knows of the tables:
// statistics never gathered, gathered while the queue was empty and then
// a backlog arrived (the usual case after a quiet night), and up to date.
// A sequential scan would read the whole backlog, or the whole delivery
// log, at every claim.
func TestClaimPlanUsesIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	s, err := New(pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(ctx))
	sub := &webhook.Subscription{ID: "sub_a", OrganizationID: "org_1", URL: "https://example.com/hook", EventTypes: []string{"*"}}
	require.NoError(t, s.CreateSubscription(ctx, sub))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	enqueue := func(n int) {
		t.Helper()
		ds := make([]*webhook.Delivery, n)
		for i := range ds {
			ds[i] = &webhook.Delivery{
				ID: fmt.Sprintf("dlv_%d_%06d", time.Now().UnixNano(), i), EventID: "evt_1", EventType: webhook.EventTaskCreated,
				SubscriptionID: sub.ID, OrganizationID: sub.OrganizationID, Body: []byte(`{}`), NextAttemptAt: t0,
			}
		}
		require.NoError(t, s.Enqueue(ctx, ds))
	}
	requireIndexScan := func(when string) {
		t.Helper()
		for _, skip := range [][]string{{}, {"sub_b", "sub_c"}} {
			rows, err := pool.Query(ctx, "EXPLAIN "+claimHead+"64"+claimTail, pgx.QueryExecModeCacheDescribe, t0.Add(time.Hour), t0.Add(2*time.Hour), skip)
			require.NoError(t, err)
			var plan []string
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan = append(plan, line)
			}
			require.NoError(t, rows.Err())
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, "Index Scan using webhook_queue_due") || strings.Contains(text, "Seq Scan on webhook_queue") ||
				strings.Contains(text, "Seq Scan on webhook_deliveries") {
				t.Errorf("%s, skipping %v:\n%s", when, skip, text)
			}
		}
	}

	enqueue(5000)
	requireIndexScan("a backlog, never analyzed")
	_, err = pool.Exec(ctx, "DELETE FROM webhook_queue")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "ANALYZE webhook_queue")
	require.NoError(t, err)
	enqueue(5000)
	requireIndexScan("a backlog, analyzed while empty")
	_, err = pool.Exec(ctx, "ANALYZE webhook_queue")
	require.NoError(t, err)
	requireIndexScan("a backlog, analyzed")
}
