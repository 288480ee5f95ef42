package pgstore_test

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
)

// TestPublishTxDelivered: of two business transactions that publish through
// the outbox, the rolled-back one leaves nothing and the committed one is
// delivered by a running Dispatcher, woken by the NOTIFY sent at commit.
func TestPublishTxDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, pool := newStore(t)
	received := make(chan string, 10)
	recv := durabletest.NewReceiverFunc(t, func(e *webhook.Event) { received <- e.DeliveryID })
	require.NoError(t, recv.Subscribe(ctx, store, "org_outbox", 1))
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
		PollInterval:    time.Hour, // only the NOTIFY can wake it in time
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { d.Close(context.Background()) })

	_, err = pool.Exec(ctx, `CREATE TABLE tasks (id text PRIMARY KEY, title text NOT NULL)`)
	require.NoError(t, err)
	publish := func(taskID string, commit bool) []*webhook.Delivery {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, `INSERT INTO tasks (id, title) VALUES ($1, 'ship it')`, taskID)
		require.NoError(t, err)
		e, err := webhook.NewEvent(webhook.EventTaskCreated, "org_outbox", "", map[string]any{"task": map[string]any{"id": taskID}})
		require.NoError(t, err)
		ds, err := store.PublishTx(ctx, tx, e)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		if commit {
			require.NoError(t, tx.Commit(ctx))
		}
		return ds
	}

	rolledBack := publish("task_1", false)
	committed := publish("task_2", true)

	select {
	case id := <-received:
		require.Equal(t, committed[0].ID, id)
	case <-time.After(30 * time.Second):
		t.Fatal("the committed event was not delivered")
	}
	_, err = store.GetDelivery(ctx, rolledBack[0].ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "the rolled-back event left no delivery")
	var tasks int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM tasks`).Scan(&tasks))
	require.Equal(t, 1, tasks)
}
