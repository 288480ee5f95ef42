package webhook_test

import (
	"context"
	"fmt"

	"github.com/onplana/webhook"
)

// The SSRF guard refuses a local receiver by default; the error says which
// Config fields let it through.
func ExampleDispatcher_CreateSubscription_localReceiver() {
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	if err != nil {
		panic(err)
	}
	_, err = d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: "https://127.0.0.1:8443/webhook", EventTypes: []string{"*"},
	})
	fmt.Println(err)
	// Output:
	// webhook: invalid URL: host 127.0.0.1 is not a public address: loopback; list 127.0.0.1/32 in Config.AllowedNetworks to deliver to this non-public address (or set Config.AllowPrivateNetworks, for tests only)
}
