package webhook_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// A customer migrating from another webhook system keeps its secret: the
// subscription signs with it, and its receiver verifies unchanged.
func TestCreateSubscriptionWithTheCallersSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		scheme webhook.Scheme
		secret webhook.Secret
	}{
		{webhook.SchemeOnplana, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"}, // a GitHub-style secret
		{webhook.SchemeStandard, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},  // a Svix one
	} {
		t.Run(string(tt.scheme), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, func(c *webhook.Config) { c.Scheme = tt.scheme })
			ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
			sub, err := h.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"*"}, Secret: tt.secret,
			})
			require.NoError(t, err)
			require.Equal(t, tt.secret, sub.Secrets[0].Secret)
			stored, err := h.store.GetSubscription(context.Background(), sub.ID)
			require.NoError(t, err)
			require.Equal(t, tt.secret, stored.Secrets[0].Secret)

			h.start(t)
			h.publish(t, webhook.EventTaskUpdated)
			drainWithin(t, h.d)
			reqs := ep.requests()
			require.Len(t, reqs, 1)
			rv := newReceiver(t, webhook.ReceiverConfig{Scheme: tt.scheme, Secrets: []webhook.Secret{tt.secret}, Logger: discard})
			_, err = rv.VerifyEvent(reqs[0].header, reqs[0].body)
			require.NoError(t, err, "the receiver's existing secret verifies")
		})
	}
}

func TestCreateSubscriptionRefusesWeakSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scheme webhook.Scheme
		secret webhook.Secret
		want   string
	}{
		{"placeholder", webhook.SchemeOnplana, "changeme", "shorter than 32 bytes"},
		{"pattern", webhook.SchemeOnplana, "abcdabcdabcdabcdabcdabcdabcdabcdabcd", "repeated"},
		{"short whsec_", webhook.SchemeOnplana, "whsec_c2hvcnQ=", "must decode to 24 to 64 bytes"},
		{"raw secret with the Standard scheme", webhook.SchemeStandard, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "needs a whsec_ secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, func(c *webhook.Config) { c.Scheme = tt.scheme })
			_, err := h.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: "https://hooks.example.com/", EventTypes: []string{"*"}, Secret: tt.secret,
			})
			require.ErrorIs(t, err, webhook.ErrWeakSecret)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "Secret", ve.Field)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), string(tt.secret))
			subs, _, err := h.store.ListSubscriptions(context.Background(), "org_1", webhook.Page{})
			require.NoError(t, err)
			require.Empty(t, subs, "nothing created")
		})
	}
}

func TestUpdateSubscriptionRefusesASecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	sub := h.subscribe(t, "https://hooks.example.com/", "", "*")
	_, err := h.d.UpdateSubscription(context.Background(), sub.ID, webhook.SubscriptionParams{
		URL: sub.URL, EventTypes: sub.EventTypes, Secret: webhook.NewSecret(),
	})
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Secret", ve.Field)
	require.Contains(t, err.Error(), "RotateSecret")
}
