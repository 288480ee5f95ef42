package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
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
		e, err := webhook.NewEvent(webhook.EventTaskCreated, "org_outbox", "proj_1", map[string]any{"task": map[string]any{"id": taskID}})
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

// validatorFunc adapts a function to webhook.EventValidator.
type validatorFunc func(e *webhook.Event) error

func (f validatorFunc) ValidateEvent(e *webhook.Event) error { return f(e) }

// TestPublishTxRefusesWhatTheCatalogForbids checks that PublishTx applies
// Publish's rules: what the catalog forbids is refused with a
// *webhook.ValidationError naming the field, before the database is
// touched, then Config.Validator runs (package onplana's checks the JSON
// Schemas); every golden sample of testdata/events still publishes.
func TestPublishTxRefusesWhatTheCatalogForbids(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	var validated atomic.Int32
	store, err := pgstore.New(pool, &pgstore.Config{Validator: validatorFunc(func(e *webhook.Event) error {
		validated.Add(1)
		if strings.Contains(string(e.Data), "forbidden by the validator") {
			return &webhook.ValidationError{Field: "Data.task.title", Reason: "forbidden"}
		}
		return nil
	})})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx))
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	require.NoError(t, store.CreateSubscription(ctx, testSubscription("sub_a", "org_abc123", "*")))

	valid := webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: "org_abc123", ProjectID: "proj_1", Data: []byte(`{"task":{"id":"task_1"}}`)}
	tests := []struct {
		name  string
		edit  func(*webhook.Event)
		field string
	}{
		{"no project_id", func(e *webhook.Event) { e.ProjectID = "" }, "ProjectID"},
		{"task not an object", func(e *webhook.Event) { e.Data = []byte(`{"task":42}`) }, "Data.task"},
		{"empty data", func(e *webhook.Event) { e.Data = []byte(`{}`) }, "Data.task"},
		{"update without diff", func(e *webhook.Event) { e.Type = webhook.EventTaskUpdated }, "Data.diff"},
		{"refused by Config.Validator", func(e *webhook.Event) {
			e.Data = []byte(`{"task":{"id":"task_1","title":"forbidden by the validator"}}`)
		}, "Data.task.title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid
			tt.edit(&e)
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer tx.Rollback(ctx)
			_, err = store.PublishTx(ctx, tx, e)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, ve.Error())
			require.NoError(t, tx.Commit(ctx), "the transaction is still usable")
		})
	}
	require.Equal(t, int32(1), validated.Load(), "Config.Validator runs after PublishTx's own checks")

	files, err := filepath.Glob("../testdata/events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, path := range files {
			body, err := os.ReadFile(path)
			require.NoError(t, err)
			e, err := webhook.ParseEvent(body)
			require.NoError(t, err)
			if e.Type == webhook.EventPing {
				continue // sent by the Dispatcher, never published
			}
			e.DeliveryID = ""
			ds, err := store.PublishTx(ctx, tx, *e)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if len(ds) != 1 {
				return fmt.Errorf("%s: %d deliveries", path, len(ds))
			}
		}
		return nil
	}))
}
