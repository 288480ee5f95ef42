package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/storetest"
)

// TestMigrate0002To0003 upgrades a database of schema 0002 holding a
// pending, a delivering (leased) and a succeeded delivery: each reads back
// with the same state, lease and attempts, and the leased one completes
// under the lease it was given before the upgrade.
func TestMigrate0002To0003(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s, err := New(pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	require.NoError(t, s.migrate(ctx, 2))

	// The subscription as schema 0002 stores it.
	_, err = pool.Exec(ctx, `INSERT INTO webhook_subscriptions (id, organization_id, url, event_types, secrets, created_at, updated_at)
		VALUES ('sub_1', 'org_1', 'https://example.com/hook', '{*}',
			'[{"secret":"whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=","created_at":"2026-01-02T03:04:05Z"}]', now(), now())`)
	require.NoError(t, err)

	base := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	claimedAt, lease := at(time.Minute), at(time.Minute+30*time.Second)
	type row struct {
		id, state     string
		attempts      int
		next, updated time.Time
		lease         *time.Time
		queued        bool
	}
	rows := []row{
		{id: "dlv_pending", state: "pending", next: at(0), updated: at(0), queued: true},
		{id: "dlv_leased", state: "delivering", attempts: 1, next: at(0), updated: claimedAt, lease: &lease, queued: true},
		{id: "dlv_done", state: "succeeded", attempts: 2, next: at(0), updated: at(2 * time.Minute)},
	}
	for _, r := range rows {
		_, err := pool.Exec(ctx, `INSERT INTO webhook_deliveries (id, event_id, event_type, subscription_id,
				organization_id, body, state, attempt_count, next_attempt_at, lease_expires_at,
				last_status_code, created_at, updated_at)
			VALUES ($1, 'evt_'||$1, 'task.created', 'sub_1', 'org_1', '{}', $2, $3, $4, $5, 0, $6, $7)`,
			r.id, r.state, r.attempts, r.next, r.lease, at(0), r.updated)
		require.NoError(t, err)
		if r.queued {
			due := r.next
			if r.lease != nil {
				due = *r.lease
			}
			_, err := pool.Exec(ctx, `INSERT INTO webhook_queue (delivery_id, subscription_id, due_at, lease_expires_at)
				VALUES ($1, 'sub_1', $2, $3)`, r.id, due, r.lease)
			require.NoError(t, err)
		}
		for n := 1; n <= r.attempts; n++ {
			_, err := pool.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ns, status_code)
				VALUES ($1, $2, $3, 1000, 500)`, r.id, n, at(time.Duration(n)*time.Second))
			require.NoError(t, err)
		}
	}

	require.NoError(t, s.Migrate(ctx))
	var applied int
	require.NoError(t, pool.QueryRow(ctx, `SELECT max(version) FROM webhook_schema_migrations`).Scan(&applied))
	require.Equal(t, SchemaVersion(), applied, "every migration applied")
	// No delivery row says 'delivering' any more: Release, which no longer
	// writes the row's state, would leave it so.
	var stored int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE state NOT IN ('pending', 'succeeded', 'failed')`).Scan(&stored))
	require.Zero(t, stored)

	tests := []struct {
		name     string
		id       string
		state    webhook.DeliveryState
		lease    time.Time
		updated  time.Time
		attempts int
	}{
		{name: "pending", id: "dlv_pending", state: webhook.StatePending, updated: at(0)},
		{name: "leased", id: "dlv_leased", state: webhook.StateDelivering, lease: lease, updated: claimedAt, attempts: 1},
		{name: "finished", id: "dlv_done", state: webhook.StateSucceeded, updated: at(2 * time.Minute), attempts: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.GetDelivery(ctx, tc.id)
			require.NoError(t, err)
			require.Equal(t, tc.state, d.State)
			require.Equal(t, tc.attempts, d.AttemptCount)
			require.True(t, tc.lease.Equal(d.LeaseExpiresAt), "LeaseExpiresAt: want %v, got %v", tc.lease, d.LeaseExpiresAt)
			require.True(t, tc.updated.Equal(d.UpdatedAt), "UpdatedAt: want %v, got %v", tc.updated, d.UpdatedAt)

			listed, _, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: "org_1", State: tc.state})
			require.NoError(t, err)
			require.Len(t, listed, 1)
			require.Equal(t, tc.id, listed[0].ID)

			attempts, err := s.ListAttempts(ctx, tc.id)
			require.NoError(t, err)
			require.Len(t, attempts, tc.attempts)
			for i, a := range attempts {
				require.Equal(t, i+1, a.Number)
				require.True(t, at(time.Duration(i+1)*time.Second).Equal(a.StartedAt), "StartedAt")
			}
		})
	}

	// Before the lease expires only the pending delivery is claimed.
	got, err := s.Claim(ctx, claimedAt, 10, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "dlv_pending", got[0].Delivery.ID)

	// The holder of the lease given under 0002 completes under it.
	d, err := s.GetDelivery(ctx, "dlv_leased")
	require.NoError(t, err)
	d.State, d.AttemptCount, d.LastStatusCode = webhook.StateSucceeded, 2, 200
	require.NoError(t, s.Complete(ctx, d, &webhook.Attempt{Number: 2, StartedAt: at(3 * time.Minute), StatusCode: 200}))
	d, err = s.GetDelivery(ctx, "dlv_leased")
	require.NoError(t, err)
	require.Equal(t, webhook.StateSucceeded, d.State)
	require.True(t, d.LeaseExpiresAt.IsZero(), "LeaseExpiresAt")
	attempts, err := s.ListAttempts(ctx, "dlv_leased")
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, 200, attempts[1].StatusCode)
}

// TestMigrate0004To0005 upgrades a database of schema 0004 whose
// subscriptions keep their secrets in clear, with a key ring configured:
// Migrate seals them (nothing of them is left in the row), they read back
// the same, and a claim hands them out.
func TestMigrate0004To0005(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewSchemaPool(t)
	old, err := New(pool, nil)
	require.NoError(t, err)
	require.NoError(t, old.migrate(ctx, 4))
	const secret = "whsec_c2VhbGVkIGF0IHRoZSB1cGdyYWRlIHRvIDAwMDUgISE="
	_, err = pool.Exec(ctx, `INSERT INTO webhook_subscriptions (id, organization_id, url, event_types, secrets, created_at, updated_at)
		VALUES ('sub_1', 'org_1', 'https://example.com/hook', '{*}',
			'[{"secret":"`+secret+`","created_at":"2026-01-02T03:04:05Z"}]', now(), now())`)
	require.NoError(t, err)

	keys := storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()})
	s, err := New(pool, &Config{Keys: keys})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))

	var row string
	require.NoError(t, pool.QueryRow(ctx, `SELECT s::text FROM webhook_subscriptions s WHERE id = 'sub_1'`).Scan(&row))
	require.NotContains(t, row, "c2VhbGVkIGF0IHRoZSB1cGdyYWRlIHRvIDAwMDUgISE")
	var keyID string
	require.NoError(t, pool.QueryRow(ctx, `SELECT secrets_key_id FROM webhook_subscriptions WHERE id = 'sub_1'`).Scan(&keyID))
	require.Equal(t, "k1", keyID)

	sub, err := s.GetSubscription(ctx, "sub_1")
	require.NoError(t, err)
	require.Len(t, sub.Secrets, 1)
	require.True(t, sub.Secrets[0].Secret == secret, "the secret reads back")
	require.True(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Equal(sub.Secrets[0].CreatedAt))

	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{{ID: "dlv_1", EventID: "evt_1", EventType: "task.created",
		SubscriptionID: "sub_1", OrganizationID: "org_1", Body: []byte(`{}`), NextAttemptAt: time.Unix(0, 0)}}))
	got, err := s.Claim(ctx, time.Now(), 10, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, got[0].Subscription.Secrets[0].Secret == secret, "the claim hands out the secret")
}
