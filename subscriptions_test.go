package webhook_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
)

// TestCreateSubscriptionRefusals checks what CreateSubscription refuses in
// a URL, and that the error says why in a way code can branch on: a
// *ValidationError for the URL, with the SSRF guard's refusal in its chain
// when an address is the reason.
func TestCreateSubscriptionRefusals(t *testing.T) {
	t.Parallel()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	tests := []struct {
		name    string
		url     string
		blocked bool
	}{
		{"private literal", "https://10.0.0.1/", true},
		{"metadata literal", "https://169.254.169.254/latest/meta-data", true},
		{"mapped loopback literal", "https://[::ffff:127.0.0.1]/", true},
		{"localhost", "https://localhost:8443/hook", true},
		// net/http would send the space raw in the request line, and the
		// endpoint would answer every attempt 400.
		{"raw space in query", "https://hooks.example.com/hook?x=a b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: tc.url, EventTypes: []string{"*"},
			})
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "URL", ve.Field)
			require.Equal(t, tc.blocked, errors.Is(err, webhook.ErrBlockedAddress), "errors.Is(err, ErrBlockedAddress): %v", err)
			if tc.blocked {
				var be *webhook.BlockedAddressError
				require.ErrorAs(t, err, &be)
				require.NotEmpty(t, be.Reason)
			}
		})
	}
}
