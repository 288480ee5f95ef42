package webhook_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// TestDispatcherSubscriptionLimit: an organization may have
// Config.MaxSubscriptionsPerOrganization subscriptions and no more; the
// one too many is refused with a *SubscriptionLimitError and not stored,
// other organizations are not affected, and deleting one makes room.
func TestDispatcherSubscriptionLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int // Config.MaxSubscriptionsPerOrganization
		want  int
	}{
		{"default", 0, webhook.DefaultMaxSubscriptionsPerOrganization},
		{"configured", 3, 3},
		{"more than a page of the store", webhook.MaxPageSize + 2, webhook.MaxPageSize + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := webhook.NewMemoryStore()
			h := newHarness(t, store, func(c *webhook.Config) { c.MaxSubscriptionsPerOrganization = tt.limit })
			create := func(org string) (*webhook.Subscription, error) {
				return h.d.CreateSubscription(ctx, webhook.SubscriptionParams{
					OrganizationID: org, URL: "https://hooks.example.com/a", EventTypes: []string{"task.*"},
				})
			}
			var subs []*webhook.Subscription
			for i := range tt.want {
				sub, err := create("org_full")
				require.NoError(t, err, "subscription %d", i+1)
				subs = append(subs, sub)
			}

			_, err := create("org_full")
			var le *webhook.SubscriptionLimitError
			require.ErrorAs(t, err, &le)
			require.Equal(t, webhook.SubscriptionLimitError{OrganizationID: "org_full", Limit: tt.want}, *le)
			require.Contains(t, err.Error(), fmt.Sprint(tt.want))
			all, err := listAll(ctx, store, "org_full")
			require.NoError(t, err)
			require.Len(t, all, tt.want, "the refused subscription was not stored")

			_, err = create("org_other")
			require.NoError(t, err, "another organization has its own limit")

			require.NoError(t, h.d.DeleteSubscription(ctx, subs[0].ID))
			_, err = create("org_full")
			require.NoError(t, err, "deleting one makes room")
			_, err = create("org_full")
			require.ErrorAs(t, err, &le)
		})
	}
}

// listAll returns every subscription of organization.
func listAll(ctx context.Context, store webhook.Store, organization string) ([]*webhook.Subscription, error) {
	var out []*webhook.Subscription
	page := webhook.Page{Limit: webhook.MaxPageSize}
	for {
		subs, next, err := store.ListSubscriptions(ctx, organization, page)
		if err != nil {
			return nil, err
		}
		out = append(out, subs...)
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

func TestDispatcherSubscriptionLimitConfig(t *testing.T) {
	t.Parallel()
	_, err := webhook.NewDispatcher(webhook.NewMemoryStore(), &webhook.Config{MaxSubscriptionsPerOrganization: -1})
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "MaxSubscriptionsPerOrganization", ve.Field)
}
