package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/onplana/webhook"
)

// A command-line tool or a test publishes, then waits with Drain until the
// deliveries have been attempted, instead of polling the delivery log.
func ExampleDispatcher_Drain() {
	ctx := context.Background()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer receiver.Close()

	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true, // a local receiver, for this example only
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close(ctx)
	if _, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: receiver.URL, EventTypes: []string{"task.*"},
	}); err != nil {
		log.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		log.Fatal(err)
	}
	err = d.Publish(ctx, webhook.Event{Type: webhook.EventTaskCompleted, OrganizationID: "org_abc123",
		ProjectID: "proj_xyz789", Data: json.RawMessage(`{"task":{"id":"task_1","title":"Ship v2"}}`)})
	if err != nil {
		log.Fatal(err)
	}

	if err := d.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	dls, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: "org_abc123"})
	if err != nil {
		log.Fatal(err)
	}
	for _, dl := range dls {
		fmt.Println(dl.EventType, dl.State, dl.LastStatusCode)
	}
	// Output:
	// task.completed succeeded 200
	// webhook.ping succeeded 200
}
