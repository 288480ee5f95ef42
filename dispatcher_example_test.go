package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	webhook "github.com/onplana/webhook"
)

// A sender publishes an event; the dispatcher signs it and delivers it to
// every matching subscription, here a receiver in the same process.
func ExampleDispatcher() {
	ctx := context.Background()

	// The customer's endpoint: verifies the signature, then handles the event.
	received := make(chan string, 1)
	var endpoint http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { endpoint.ServeHTTP(w, r) }))
	defer srv.Close()

	// The sender: a dispatcher over a store. Local addresses are refused by
	// default; allow the test server's.
	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		log.Fatal(err)
	}
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123",
		URL:            srv.URL + "/webhooks/onplana",
		EventTypes:     []string{"task.*", "milestone.completed"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The secret is returned once, at creation: the customer keeps it.
	endpoint, err = webhook.NewHandler(webhook.ReceiverConfig{Secrets: []webhook.Secret{sub.Secrets[0].Secret}}, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		if e.Type != webhook.EventPing { // the ping sent at creation
			received <- fmt.Sprintf("%s in %s", e.Type, e.ProjectID)
		}
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}

	if err := d.Start(ctx); err != nil {
		log.Fatal(err)
	}
	e, err := webhook.NewEvent(webhook.EventTaskCompleted, "org_abc123", "proj_xyz789",
		map[string]any{"task": map[string]any{"id": "task_1", "title": "Ship the SDK"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Publish(ctx, e); err != nil {
		log.Fatal(err)
	}
	fmt.Println("received", <-received)

	// Close waits for the attempt in flight to be recorded.
	if err := d.Close(ctx); err != nil {
		log.Fatal(err)
	}
	dls, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{EventType: webhook.EventTaskCompleted})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivery", dls[0].State, "after", dls[0].AttemptCount, "attempt")
	// Output:
	// received task.completed in proj_xyz789
	// delivery succeeded after 1 attempt
}

// Ping sends a webhook.ping now and returns the attempt: the "Test Ping"
// button of a webhook settings page.
func ExampleDispatcher_Ping() {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "down for maintenance")
	}))
	defer srv.Close()

	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{AllowHTTP: true, AllowPrivateNetworks: true})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close(ctx)
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: srv.URL, EventTypes: []string{"*"},
	})
	if err != nil {
		log.Fatal(err)
	}
	a, err := d.Ping(ctx, sub.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.StatusCode, a.ErrorClass, a.ResponseSnippet)
	// Output:
	// 503 status down for maintenance
}

// RotateSecret replaces a subscription's secret in place. During the grace
// period every delivery is signed with both secrets, so the customer can
// switch its receiver to the new one at any time.
func ExampleDispatcher_RotateSecret() {
	ctx := context.Background()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close(ctx)
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: "https://hooks.example.com/onplana", EventTypes: []string{"*"},
	})
	if err != nil {
		log.Fatal(err)
	}
	newSecret, err := d.RotateSecret(ctx, sub.ID, 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(newSecret != sub.Secrets[0].Secret, newSecret) // a Secret prints redacted
	// Output:
	// true whsec_[REDACTED]
}
