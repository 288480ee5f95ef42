package manage

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

func TestDescribeFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		class  webhook.ErrorClass
		status int
		err    string
		want   string
	}{
		{"status", webhook.ErrorClassStatus, 500, "webhook: endpoint answered 500 Internal Server Error",
			"The endpoint answered 500 Internal Server Error."},
		{"redirect", webhook.ErrorClassStatus, 301, "webhook: endpoint answered 301 Moved Permanently; redirects are not followed",
			"The endpoint answered 301 Moved Permanently. Redirects are not followed: register the URL the endpoint redirects to."},
		{"gone", webhook.ErrorClassStatus, 410, "webhook: endpoint answered 410 Gone; the subscription is disabled",
			"The endpoint answered 410 Gone. The webhook was disabled, as 410 asks."},
		{"retry after", webhook.ErrorClassStatus, 503, "webhook: endpoint answered 503 Service Unavailable; Retry-After 30s",
			"The endpoint answered 503 Service Unavailable. It asked to wait 30s before the next attempt."},
		{"unknown status", webhook.ErrorClassStatus, 599, "webhook: endpoint answered 599 ",
			"The endpoint answered 599."},
		{"timeout", webhook.ErrorClassTimeout, 0, `Post "https://example.com/[REDACTED]": context deadline exceeded`,
			"The endpoint did not answer in time."},
		{"refused", webhook.ErrorClassConnection, 0, `Post "http://127.0.0.1:1/[REDACTED]": dial tcp 127.0.0.1:1: connect: connection refused`,
			"Could not reach the endpoint: the connection was refused."},
		{"no such host", webhook.ErrorClassConnection, 0, `Post "https://nowhere.invalid/": dial tcp: lookup nowhere.invalid on 127.0.0.53:53: no such host`,
			"Could not reach the endpoint: the host name does not resolve."},
		{"certificate", webhook.ErrorClassConnection, 0, `Post "https://self-signed.example/": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
			"Could not reach the endpoint: its TLS certificate was refused (certificate signed by unknown authority)."},
		{"closed", webhook.ErrorClassConnection, 0, `Post "https://example.com/": EOF`,
			"Could not reach the endpoint: the connection closed before an answer."},
		{"blocked", webhook.ErrorClassBlocked, 0, `Post "https://example.com/": dial tcp 10.1.2.3:443: webhook: address 10.1.2.3 not allowed: private network (RFC 1918)`,
			"Nothing was sent: 10.1.2.3 is on a private network, and webhooks are only sent to public internet addresses."},
		{"blocked loopback", webhook.ErrorClassBlocked, 0, `Post "http://localhost/": dial tcp [::1]:80: webhook: address ::1 not allowed: loopback`,
			"Nothing was sent: ::1 is a loopback address (the sending server itself), and webhooks are only sent to public internet addresses."},
		{"blocked, address not in the log", webhook.ErrorClassBlocked, 0, `Post "https://internal.example.com/": webhook: address not allowed: private network (RFC 1918)`,
			"Nothing was sent: the endpoint's address is on a private network, and webhooks are only sent to public internet addresses."},
		{"other", webhook.ErrorClassOther, 0, "webhook: subscription deleted before the attempt",
			"Subscription deleted before the attempt."},
		{"last error of a delivery, class unknown", "", 502, "webhook: endpoint answered 502 Bad Gateway",
			"The endpoint answered 502 Bad Gateway."},
		{"last connection error of a delivery", "", 0, `Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`,
			"Could not reach the endpoint: the connection was refused."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := describeFailure(tc.class, tc.status, tc.err)
			require.Equal(t, tc.want, got)
			require.NotContains(t, got, "webhook:")
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	require.Equal(t, "short", truncate("short", 10))
	require.Equal(t, "ab…", truncate("abcdefgh", 5))
	require.Equal(t, "…", truncate("ééé", 4), "never cuts a rune in two")
}
