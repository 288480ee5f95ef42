package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// The delivery log: ListDeliveries and Redeliver.

func testListDeliveries(f *fixture) {
	t := f.t
	s1 := f.createSub("org_1", "proj_1", "*")
	s2 := f.createSub("org_1", "", "*")
	s3 := f.createSub("org_2", "", "*")
	types := []webhook.EventType{webhook.EventTaskCreated, webhook.EventTaskUpdated, webhook.EventCommentCreated}
	var all []*webhook.Delivery
	for i := range 20 {
		sub := s1
		switch {
		case i >= 15:
			sub = s3
		case i >= 10:
			sub = s2
		}
		all = append(all, NewDelivery(f.ids, sub, types[i%len(types)], at(0)))
	}
	require.NoError(t, f.s.Enqueue(f.ctx, all))

	// Give the deliveries every final and intermediate state.
	byID := make(map[string]*webhook.Delivery)
	for _, d := range all {
		byID[d.ID] = d
	}
	held := f.claim(at(time.Second), 100)
	require.Len(t, held, len(all))
	for i, h := range held {
		switch i % 4 {
		case 0:
			f.complete(h, webhook.StateSucceeded, 200, time.Time{})
		case 1:
			f.complete(h, webhook.StateFailed, 500, time.Time{})
		case 2:
			f.complete(h, webhook.StatePending, 503, at(time.Hour))
		case 3: // stays delivering
		}
		byID[h.ID].State = h.State
	}

	tests := []struct {
		name string
		q    webhook.DeliveryQuery
	}{
		{"everything", webhook.DeliveryQuery{}},
		{"by subscription", webhook.DeliveryQuery{SubscriptionID: s1.ID}},
		{"by organization", webhook.DeliveryQuery{OrganizationID: "org_1"}},
		{"other organization", webhook.DeliveryQuery{OrganizationID: "org_2"}},
		{"failed", webhook.DeliveryQuery{State: webhook.StateFailed}},
		{"succeeded in an organization", webhook.DeliveryQuery{OrganizationID: "org_1", State: webhook.StateSucceeded}},
		{"pending of a subscription", webhook.DeliveryQuery{SubscriptionID: s2.ID, State: webhook.StatePending}},
		{"delivering", webhook.DeliveryQuery{State: webhook.StateDelivering}},
		{"event type", webhook.DeliveryQuery{EventType: webhook.EventCommentCreated}},
		{"event type of a subscription", webhook.DeliveryQuery{SubscriptionID: s1.ID, EventType: webhook.EventTaskUpdated}},
		{"time range", webhook.DeliveryQuery{CreatedAfter: all[4].CreatedAt, CreatedBefore: all[12].CreatedAt}},
		{"created after", webhook.DeliveryQuery{CreatedAfter: all[17].CreatedAt}},
		{"created before", webhook.DeliveryQuery{CreatedBefore: all[3].CreatedAt}},
		{"time range and subscription", webhook.DeliveryQuery{SubscriptionID: s1.ID, CreatedAfter: all[2].CreatedAt, CreatedBefore: all[8].CreatedAt}},
		{"subscription of another organization", webhook.DeliveryQuery{OrganizationID: "org_1", SubscriptionID: s3.ID}},
		{"unknown subscription", webhook.DeliveryQuery{SubscriptionID: s3.ID + "x"}},
		{"empty range", webhook.DeliveryQuery{CreatedAfter: all[5].CreatedAt, CreatedBefore: all[5].CreatedAt}},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			want := []string{}
			for i := len(all) - 1; i >= 0; i-- { // newest first
				if matches(all[i], tc.q) {
					want = append(want, all[i].ID)
				}
			}
			q := tc.q
			q.Page = webhook.Page{Limit: webhook.MaxPageSize}
			got, next, err := f.s.ListDeliveries(f.ctx, q)
			require.NoError(t, err)
			require.Empty(t, next)
			require.Equal(t, want, deliveryIDs(got), "one page, newest first")
			for _, g := range got {
				w := byID[g.ID]
				require.Equal(t, w.State, g.State, "State of %s", g.ID)
				require.Equal(t, w.SubscriptionID, g.SubscriptionID)
				requireSameTime(t, w.CreatedAt, g.CreatedAt, "CreatedAt")
			}

			paged := []string{}
			q.Page = webhook.Page{Limit: 3}
			for pages := 1; ; pages++ {
				require.LessOrEqual(t, pages, max(1, (len(want)+2)/3), "more pages than needed")
				page, next, err := f.s.ListDeliveries(f.ctx, q)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), 3)
				if len(want) > 0 {
					require.NotEmpty(t, page, "a cursor was returned but the next page is empty")
				}
				paged = append(paged, deliveryIDs(page)...)
				if next == "" {
					break
				}
				q.Page.Cursor = next
			}
			require.Equal(t, want, paged, "pages of 3, newest first")
		})
	}

	_, _, err := f.s.ListDeliveries(f.ctx, webhook.DeliveryQuery{Page: webhook.Page{Limit: -1}})
	requireValidationError(t, err, "Limit")
}

// matches is the reference implementation of a DeliveryQuery filter.
func matches(d *webhook.Delivery, q webhook.DeliveryQuery) bool {
	return (q.OrganizationID == "" || d.OrganizationID == q.OrganizationID) &&
		(q.SubscriptionID == "" || d.SubscriptionID == q.SubscriptionID) &&
		(q.State == "" || d.State == q.State) &&
		(q.EventType == "" || d.EventType == q.EventType) &&
		(q.CreatedAfter.IsZero() || !d.CreatedAt.Before(q.CreatedAfter)) &&
		(q.CreatedBefore.IsZero() || d.CreatedAt.Before(q.CreatedBefore))
}

func testRedeliver(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	failed := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	succeeded := f.enqueue(sub, webhook.EventTaskCreated, at(time.Millisecond))
	pending := f.enqueue(sub, webhook.EventTaskCreated, at(time.Hour))
	delivering := f.enqueue(sub, webhook.EventTaskCreated, at(time.Minute))

	held := f.claim(at(time.Millisecond), 10)
	require.Equal(t, []string{failed.ID, succeeded.ID}, deliveryIDs(held))
	f.complete(held[0], webhook.StateFailed, 500, time.Time{})
	f.complete(held[1], webhook.StateSucceeded, 200, time.Time{})
	inFlight := f.claimLease(at(time.Minute), 10, 1000*time.Hour)
	require.Equal(t, []string{delivering.ID}, deliveryIDs(inFlight))

	for i, d := range []*webhook.Delivery{failed, succeeded} {
		due := at(2*time.Hour + time.Duration(i)*time.Millisecond)
		require.NoError(t, f.s.Redeliver(f.ctx, d.ID, due))
		got := f.get(d.ID)
		require.Equal(t, webhook.StatePending, got.State)
		require.Equal(t, 1, got.AttemptCount, "Redeliver keeps the attempt count")
		requireSameTime(t, due, got.NextAttemptAt, "NextAttemptAt")
		require.True(t, bytes.Equal(d.Body, got.Body), "Redeliver keeps the body")
	}
	require.ErrorIs(t, f.s.Redeliver(f.ctx, pending.ID, at(0)), webhook.ErrConflict)
	require.ErrorIs(t, f.s.Redeliver(f.ctx, delivering.ID, at(0)), webhook.ErrConflict)
	require.ErrorIs(t, f.s.Redeliver(f.ctx, NewID("dlv_", BaseTime), at(0)), webhook.ErrNotFound)

	require.Equal(t, []string{pending.ID}, deliveryIDs(f.claim(at(2*time.Hour-time.Millisecond), 10)))
	again := f.claim(at(2*time.Hour+time.Millisecond), 10)
	require.Equal(t, []string{failed.ID, succeeded.ID}, deliveryIDs(again))
	f.complete(again[0], webhook.StateSucceeded, 200, time.Time{})
	attempts, err := f.s.ListAttempts(f.ctx, failed.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 2, "Redeliver keeps earlier attempts")
	require.Equal(t, []int{500, 200}, []int{attempts[0].StatusCode, attempts[1].StatusCode})
}
