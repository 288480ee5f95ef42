package webhook

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewPingData(t *testing.T) {
	t.Parallel()
	secret := Secret("whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr")
	sub := &Subscription{
		ID: "sub_1", URL: "https://hooks.slack.example/services/T000/B000/XXXX",
		EventTypes: []string{"task.*"}, Description: "Slack",
		Secrets: []SigningSecret{{Secret: secret}},
	}
	d := newPingData(sub)
	require.Equal(t, webhookRef{ID: "sub_1", EventTypes: []string{"task.*"}, Description: "Slack"}, d.Webhook)
	require.Equal(t, PingMessage, d.Message)

	sub.EventTypes[0] = "project.*"
	require.Equal(t, "task.*", d.Webhook.EventTypes[0], "the ping does not alias the subscription")

	b, err := json.Marshal(d)
	require.NoError(t, err)
	require.NotContains(t, string(b), "hooks.slack.example", "the URL can be a credential")
	require.NotContains(t, string(b), string(secret))

	empty, err := json.Marshal(newPingData(nil))
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"webhook":{"id":"","event_types":[]},"message":%q}`, PingMessage), string(empty))
}
