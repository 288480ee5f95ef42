package manage

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// TestAPISubscriptionLimit: creating one subscription more than the
// Dispatcher's Config.MaxSubscriptionsPerOrganization is answered 409.
func TestAPISubscriptionLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) {
		d, err := webhook.NewDispatcher(c.Store, &webhook.Config{
			AllowHTTP:                       true,
			AllowedNetworks:                 []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			MaxSubscriptionsPerOrganization: 1,
			Logger:                          slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Close(ctx); err != nil {
				t.Errorf("close dispatcher: %v", err)
			}
		})
		c.Dispatcher = d
	})
	e.createSub("alice", orgA)
	var body apiErr
	resp := e.call("alice", "POST", "/api/v1/orgs/"+orgA+"/subscriptions",
		map[string]any{"url": e.rc.srv.URL + "/hook", "event_types": []string{"task.*"}}, &body)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, CodeConflict, body.Error.Code)
	require.Equal(t, "the organization has reached its limit of 1 webhooks", body.Error.Message)
}
