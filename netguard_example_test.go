package webhook_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/onplana/webhook"
)

// The zero NetGuard refuses every non-public address, including the cloud
// metadata service and IPv4 addresses hidden in IPv6 forms.
func ExampleNetGuard_Check() {
	var guard webhook.NetGuard
	for _, s := range []string{"169.254.169.254", "::ffff:127.0.0.1", "100.64.0.1", "64:ff9b::a00:1", "1.1.1.1", "2606:4700::1111"} {
		err := guard.Check(netip.MustParseAddr(s))
		var blocked *webhook.BlockedAddressError
		if errors.As(err, &blocked) {
			fmt.Printf("%-17s refused: %s\n", s, blocked.Reason)
			continue
		}
		fmt.Printf("%-17s allowed\n", s)
	}
	// Output:
	// 169.254.169.254   refused: link-local (cloud metadata)
	// ::ffff:127.0.0.1  refused: loopback
	// 100.64.0.1        refused: shared address space (CGNAT, RFC 6598)
	// 64:ff9b::a00:1    refused: NAT64 (embeds an IPv4 address)
	// 1.1.1.1           allowed
	// 2606:4700::1111   allowed
}

// Local development opts in explicitly, for one address only.
func ExampleNetGuard_allowedNetworks() {
	guard := webhook.NetGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	fmt.Println(guard.Check(netip.MustParseAddr("127.0.0.1")))
	fmt.Println(guard.Check(netip.MustParseAddr("10.0.0.1")))
	// Output:
	// <nil>
	// webhook: address 10.0.0.1 not allowed: private network (RFC 1918)
}

func ExampleValidateEndpointURL() {
	for _, u := range []string{
		"https://hooks.example.com/onplana",
		"http://hooks.example.com/onplana",
		"https://user:pass@hooks.example.com/",
		"gopher://127.0.0.1:6379/_FLUSHALL",
		"https://[::ffff:169.254.169.254]/latest/meta-data/",
	} {
		fmt.Println(webhook.ValidateEndpointURL(u, false, nil))
	}
	// Output:
	// <nil>
	// webhook: invalid URL: scheme must be https (plain http is not allowed)
	// webhook: invalid URL: must not contain credentials (user:password@)
	// webhook: invalid URL: scheme "gopher" not allowed: only http and https
	// webhook: invalid URL: host 169.254.169.254 is not a public address: link-local (cloud metadata)
}

func ExampleRedactURL() {
	fmt.Println(webhook.RedactURL("https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX"))
	fmt.Println(webhook.RedactURL("https://user:pass@example.com:8443/hook?token=abc"))
	// Output:
	// https://hooks.slack.com/[REDACTED]
	// https://example.com:8443/[REDACTED]
}
