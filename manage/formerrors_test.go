package manage

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// TestFormMessageCoversLibraryReasons feeds the reasons the library really
// gives through formMessage: each gets its own plain sentence, not the
// fallback that repeats the library's words.
func TestFormMessageCoversLibraryReasons(t *testing.T) {
	t.Parallel()
	urls := []struct {
		url  string
		want string
	}{
		{"", "Enter the endpoint URL."},
		{"ftp://example.com/x", "The URL must start with https://."},
		{"http://example.com/x", "The URL must start with https://."},
		{"example.com/x", "Enter a full URL, such as https://example.com/webhooks."},
		{"https://", "Enter a full URL, such as https://example.com/webhooks."},
		{"https://exa%zzmple.com/", "Enter a full URL, such as https://example.com/webhooks."},
		{"https://u:p@example.com/", "Remove the user name and password from the URL: each delivery is signed with the webhook's secret instead."},
		{"https://example.com/#x", "Remove the #… part from the URL."},
		{"https://example.com:70000/", "The port must be a number from 1 to 65535."},
		{"https://example.com/" + strings.Repeat("a", 5000), "This URL is too long."},
		{"https://10.1.2.3/", "Enter a public URL: 10.1.2.3 is on a private network, and webhooks are only sent to public internet addresses."},
		{"https://127.0.0.1/", "Enter a public URL: 127.0.0.1 is a loopback address (the sending server itself), and webhooks are only sent to public internet addresses."},
		{"https://169.254.169.254/", "Enter a public URL: 169.254.169.254 is a link-local address, such as a cloud metadata service's, and webhooks are only sent to public internet addresses."},
		{"https://localhost/", "Enter a public URL: localhost is a loopback address (the sending server itself), and webhooks are only sent to public internet addresses."},
		{"https://2130706433/", "Write the host as a name, or as a standard IP address."},
	}
	// The reasons come from the Dispatcher, as the portal's do: with the
	// hint naming the Config field that would allow the URL.
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err)
	for _, tc := range urls {
		t.Run(tc.url, func(t *testing.T) {
			_, err := d.CreateSubscription(t.Context(), webhook.SubscriptionParams{
				OrganizationID: "org_1", URL: tc.url, EventTypes: []string{"task.*"},
			})
			var ve *webhook.ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			require.Equal(t, tc.want, formMessage(jsonField(ve.Field), ve.Reason))
		})
	}
	types := []struct {
		types []string
		want  string
	}{
		{nil, "Choose at least one event, or All events."},
		{[]string{"task.exploded"}, "Choose events from the list."},
		{[]string{"task.created", "task.created"}, "Choose each event once."},
	}
	// A reason given by newer versions of the library than the one this
	// module requires: a raw space, which net/http would send unencoded.
	require.Equal(t, "Remove the spaces from the URL, or write each one as %20.",
		formMessage("url", "contains a space; percent-encode it as %20"))
	for _, tc := range types {
		var ve *webhook.ValidationError
		sub := &webhook.Subscription{ID: "sub_1", OrganizationID: "org_1", EventTypes: tc.types}
		require.True(t, errors.As(webhook.ValidateSubscription(sub), &ve))
		require.Equal(t, tc.want, formMessage(jsonField(ve.Field), ve.Reason))
	}
}
