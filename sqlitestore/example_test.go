package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/sqlitestore"
)

// A single-node service keeps its subscriptions and delivery queue in one
// SQLite file: what is published survives a restart of the process.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "webhooks")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sqlitestore.Open(filepath.Join(dir, "webhooks.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	d, err := webhook.NewDispatcher(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	err = store.CreateSubscription(ctx, &webhook.Subscription{
		ID: "sub_1", OrganizationID: "org_abc123", URL: "https://hooks.example.com/onplana",
		EventTypes: []string{"task.*"},
		Secrets:    []webhook.SigningSecret{{Secret: webhook.NewSecret()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	err = d.Publish(ctx, webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: "org_abc123",
		ProjectID: "proj_xyz789", Data: []byte(`{"task":{"id":"task_1","title":"Ship v2"}}`)})
	if err != nil {
		log.Fatal(err)
	}
	d.Close(ctx)
	store.Close()

	// Another process, later, finds the delivery waiting.
	store, err = sqlitestore.Open(filepath.Join(dir, "webhooks.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	pending, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{State: webhook.StatePending})
	if err != nil {
		log.Fatal(err)
	}
	for _, dl := range pending {
		fmt.Println(dl.EventType, dl.SubscriptionID, dl.State)
	}
	// Output: task.created sub_1 pending
}
