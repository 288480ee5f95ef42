package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/pgstore"
)

// A web server records an order and the webhook event announcing it in one
// transaction: the event's deliveries exist exactly when the order does. A
// Dispatcher in any process on the same database sends them once the
// transaction commits.
func ExampleStore_PublishTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE tasks SET done = true WHERE id = $1`, "task_1"); err != nil {
			return err
		}
		e, err := webhook.NewEvent(webhook.EventTaskCompleted, "org_abc123", "proj_xyz789",
			map[string]any{"task": map[string]any{"id": "task_1", "title": "Ship v2"}})
		if err != nil {
			return err
		}
		_, err = store.PublishTx(ctx, tx, e) // nothing is sent unless the transaction commits
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A worker process delivers what the web servers publish, woken by
// LISTEN/NOTIFY. Several such processes can share the queue.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // after the Dispatcher's Close
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	d, err := webhook.NewDispatcher(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer d.Close(ctx) // waits for the attempts in flight; the rest stays in the queue
}
