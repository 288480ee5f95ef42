package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// Example_sender is the sender snippet of the README: a backend that
// registers a customer endpoint and publishes an event to it.
func Example_sender() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), // or pgstore, sqlitestore
		&webhook.Config{Validator: onplana.Validator()}) // refuse what the event catalog forbids
	if err != nil {
		log.Fatal(err)
	}
	d.Start(ctx)
	defer d.Close(ctx) // waits for attempts in flight; the rest stays pending
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123",
		URL:            "https://hooks.example.com/onplana",
		EventTypes:     []string{"task.*", "milestone.completed"},
	}) // checks the URL (https, public address), makes the secret, sends a webhook.ping
	if err == nil {
		fmt.Println("secret, shown once:", sub.Secrets[0].Secret.Reveal())
		now := time.Now()
		task := onplana.Task{ID: "task_1", ProjectID: "proj_xyz789", Title: "Ship v2",
			Status: onplana.TaskStatusDone, Priority: onplana.TaskPriorityHigh,
			URL: "https://app.onplana.com/tasks/task_1", CompletedAt: now, CreatedAt: now, UpdatedAt: now}
		var e webhook.Event
		e, err = webhook.NewEvent(webhook.EventTaskCompleted, "org_abc123", "proj_xyz789", onplana.TaskEventData{Task: task})
		if err == nil {
			err = d.Publish(ctx, e) // a *webhook.ValidationError names any field the schema forbids
		}
	} // Publish returns once the deliveries are stored; they are retried for 3 days
	if err != nil {
		log.Fatal(err)
	}
}

// Example_receiver is the receiver snippet of the README: a customer
// endpoint that verifies, deduplicates and handles task.updated with its
// typed payload and the due date decoded from the diff.
func Example_receiver() {
	r := webhook.NewRouter()
	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		before, after, changed, err := onplana.ChangeOf[string](data.Diff, "due_date")
		if err != nil {
			return err
		}
		if changed {
			log.Printf("%q moved from %s to %s", data.Task.Title, before, after)
		}
		return nil // 204; an error answers 500 and the sender retries
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{webhook.Secret(os.Getenv("WEBHOOK_SECRET"))},
		Dedupe:  webhook.NewMemoryDedupeStore(100_000), // a processed delivery_id is not run again
	}, r) // verify, then dedupe, then route: other types, new ones included, are acknowledged
	if err != nil {
		log.Fatal(err) // an empty secret is refused: there is no "skip verification" mode
	}
	srv := &http.Server{Addr: ":8080", Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
