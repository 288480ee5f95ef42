package webhook_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// A URL refused by the Dispatcher's configuration says which Config field
// lets it through.
func TestCreateSubscriptionErrorsNameTheConfigField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     webhook.Config
		url     string
		want    []string // parts of the message
		notWant []string
		blocked bool // the guard refused the address: errors.Is(err, ErrBlockedAddress) survives the hint
	}{
		{
			name: "local receiver over http",
			url:  "http://127.0.0.1:8080/webhook",
			want: []string{"plain http is not allowed", "set Config.AllowHTTP", "list 127.0.0.1/32 in Config.AllowedNetworks"},
		},
		{
			name:    "local receiver over https",
			url:     "https://127.0.0.1:8443/webhook",
			want:    []string{"host 127.0.0.1 is not a public address: loopback", "list 127.0.0.1/32 in Config.AllowedNetworks", "Config.AllowPrivateNetworks"},
			notWant: []string{"AllowHTTP"},
			blocked: true,
		},
		{
			name:    "http already allowed",
			cfg:     webhook.Config{AllowHTTP: true},
			url:     "http://10.1.2.3/webhook",
			want:    []string{"list 10.1.2.3/32 in Config.AllowedNetworks"},
			notWant: []string{"AllowHTTP"},
			blocked: true,
		},
		{
			name:    "localhost",
			url:     "https://localhost:8443/",
			want:    []string{"is loopback", "127.0.0.1/32 (and ::1/128) in Config.AllowedNetworks"},
			blocked: true,
		},
		{
			name:    "IPv6 loopback",
			url:     "https://[::1]/",
			want:    []string{"::1/128 in Config.AllowedNetworks"},
			blocked: true,
		},
		{
			name:    "public host over http",
			url:     "http://hooks.example.com/",
			want:    []string{"set Config.AllowHTTP"},
			notWant: []string{"AllowedNetworks"},
		},
		{
			name:    "nothing in Config helps",
			url:     "ftp://hooks.example.com/",
			want:    []string{`scheme "ftp" not allowed`},
			notWant: []string{"Config."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &tt.cfg)
			require.NoError(t, err)
			_, err = d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: tt.url, EventTypes: []string{"*"},
			})
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "URL", ve.Field)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			for _, w := range tt.notWant {
				require.NotContains(t, err.Error(), w)
			}
			require.Equal(t, tt.blocked, errors.Is(err, webhook.ErrBlockedAddress), "errors.Is(err, ErrBlockedAddress): %v", err)
		})
	}

	// Following the advice works.
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{
		AllowHTTP: true, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	require.NoError(t, err)
	_, err = d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: "http://127.0.0.1:8080/webhook", EventTypes: []string{"*"},
	})
	require.NoError(t, err)
}
