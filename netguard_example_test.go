package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/onplana/webhook"
)

// The SSRF guard and the URL rules refuse an endpoint when the
// subscription is created: every non-public address, including the cloud
// metadata service and IPv4 addresses hidden in IPv6 forms, other schemes
// and credentials in the URL. The Dispatcher checks the address it dials
// again at every attempt.
func ExampleDispatcher_CreateSubscription_refusedURLs() {
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	if err != nil {
		panic(err)
	}
	for _, u := range []string{
		"https://169.254.169.254/latest/meta-data/",
		"https://[::ffff:127.0.0.1]/",
		"https://100.64.0.1/",
		"https://[64:ff9b::a00:1]/",
		"http://hooks.example.com/onplana",
		"https://user:pass@hooks.example.com/",
		"gopher://127.0.0.1:6379/_FLUSHALL",
	} {
		_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
			OrganizationID: "org_abc123", URL: u, EventTypes: []string{"task.*"},
		})
		var ve *webhook.ValidationError
		if errors.As(err, &ve) {
			fmt.Printf("%s: %s\n", u, ve.Reason)
		}
	}
	// Output:
	// https://169.254.169.254/latest/meta-data/: host 169.254.169.254 is not a public address: link-local (cloud metadata)
	// https://[::ffff:127.0.0.1]/: host 127.0.0.1 is not a public address: loopback
	// https://100.64.0.1/: host 100.64.0.1 is not a public address: shared address space (CGNAT, RFC 6598)
	// https://[64:ff9b::a00:1]/: host 64:ff9b::a00:1 is not a public address: NAT64 (embeds an IPv4 address)
	// http://hooks.example.com/onplana: scheme must be https (plain http is not allowed)
	// https://user:pass@hooks.example.com/: must not contain credentials (user:password@)
	// gopher://127.0.0.1:6379/_FLUSHALL: scheme "gopher" not allowed: only http and https
}

// Local development opts in explicitly, for one address only.
func ExampleConfig_allowedNetworks() {
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		panic(err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/webhook", "http://10.0.0.1/webhook"} {
		_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
			OrganizationID: "org_abc123", URL: u, EventTypes: []string{"task.*"},
		})
		var ve *webhook.ValidationError
		if errors.As(err, &ve) {
			fmt.Println(u, "refused:", ve.Reason)
			continue
		}
		fmt.Println(u, "accepted")
	}
	// Output:
	// http://127.0.0.1:8080/webhook accepted
	// http://10.0.0.1/webhook refused: host 10.0.0.1 is not a public address: private network (RFC 1918)
}

func ExampleRedactURL() {
	fmt.Println(webhook.RedactURL("https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX"))
	fmt.Println(webhook.RedactURL("https://user:pass@example.com:8443/hook?token=abc"))
	// Output:
	// https://hooks.slack.com/[REDACTED]
	// https://example.com:8443/[REDACTED]
}
