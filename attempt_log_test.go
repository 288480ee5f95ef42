package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAttemptLogHidesResolvedAddress checks that the delivery log, which
// the subscription's owner reads, says that the SSRF guard refused an
// endpoint and why, but not what its host name resolved to: otherwise a
// tenant could map the sender's internal DNS by registering names and
// reading the log.
func TestAttemptLogHidesResolvedAddress(t *testing.T) {
	t.Parallel()
	resolver := guardFakeResolver(t, map[string][]netip.Addr{
		"internal.test": {netip.MustParseAddr("127.0.0.1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
	})
	client, err := NewClient(ClientConfig{Resolver: resolver})
	require.NoError(t, err)
	store := NewMemoryStore()
	d, err := NewDispatcher(store, &Config{HTTPClient: client, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	ctx := context.Background()

	for _, tc := range []struct {
		host, addr, reason string
	}{
		{"internal.test", "127.0.0.1", "loopback"},
		{"metadata.test", "169.254.169.254", "link-local (cloud metadata)"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			sub, err := d.CreateSubscription(ctx, SubscriptionParams{
				OrganizationID: "org_1", URL: "https://" + tc.host + "/hook", EventTypes: []string{"*"},
			})
			require.NoError(t, err, "host names are not resolved at creation")
			a, err := d.Ping(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, ErrorClassBlocked, a.ErrorClass)
			require.Equal(t, `Post "https://`+tc.host+`/[REDACTED]": webhook: address not allowed: `+tc.reason, a.Error)

			// Every attempt the store recorded, not only the one returned.
			dls, _, err := store.ListDeliveries(ctx, DeliveryQuery{SubscriptionID: sub.ID})
			require.NoError(t, err)
			var n int
			for _, dl := range dls {
				require.NotContains(t, dl.LastError, tc.addr)
				as, err := store.ListAttempts(ctx, dl.ID)
				require.NoError(t, err)
				for _, a := range as {
					n++
					require.Equal(t, ErrorClassBlocked, a.ErrorClass)
					require.Contains(t, a.Error, "address not allowed: "+tc.reason)
					require.NotContains(t, a.Error, tc.addr, "the stored error names the resolved address")
				}
			}
			require.Equal(t, 1, n, "attempts recorded")
		})
	}
}

// TestAttemptErrorText checks the delivery log's text of attempt errors:
// redacted URLs, and a refusal of the SSRF guard without its address.
func TestAttemptErrorText(t *testing.T) {
	t.Parallel()
	blocked := &BlockedAddressError{Addr: netip.MustParseAddr("10.1.2.3"), Reason: "private network (RFC 1918)"}
	urlErr := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://hooks.example.com/services/T0/XXXX", Err: err}
	}
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, Err: err}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"blocked, wrapped in url.Error", urlErr(opErr(blocked)), `Post "https://hooks.example.com/[REDACTED]": webhook: address not allowed: private network (RFC 1918)`},
		{"blocked, bare", blocked, "webhook: address not allowed: private network (RFC 1918)"},
		{"other error keeps its text, URL redacted", urlErr(errors.New("connection refused")), `Post "https://hooks.example.com/[REDACTED]": connection refused`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, attemptErrorText(tc.err))
			require.NotContains(t, attemptErrorText(tc.err), "10.1.2.3")
		})
	}
}
