package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// Subscriptions: CRUD, validation, lists, matching, and what deleting
// or disabling one does to its deliveries.

func testSubscriptionCRUD(f *fixture) {
	t := f.t
	sub := NewSubscription(f.ids, "org_1", "", "task.*", "comment.created")
	require.NoError(t, f.s.CreateSubscription(f.ctx, sub))
	require.False(t, sub.CreatedAt.IsZero(), "CreateSubscription must set CreatedAt")
	require.False(t, sub.UpdatedAt.IsZero(), "CreateSubscription must set UpdatedAt")

	got, err := f.s.GetSubscription(f.ctx, sub.ID)
	require.NoError(t, err)
	requireSameSubscription(t, sub, got)

	// Neither the value passed in nor the one returned aliases stored state.
	sub.EventTypes[0] = "project.*"
	sub.Secrets[0].Secret = "whsec_changed"
	got.EventTypes[1] = "member.*"
	got.Secrets[0].ExpiresAt = at(time.Hour)
	again, err := f.s.GetSubscription(f.ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"task.*", "comment.created"}, again.EventTypes)
	require.NotEqual(t, webhook.Secret("whsec_changed"), again.Secrets[0].Secret)
	require.True(t, again.Secrets[0].ExpiresAt.IsZero())

	t.Run("duplicate ID", func(t *testing.T) {
		dup := NewSubscription(f.ids, "org_1", "", "*")
		dup.ID = sub.ID
		require.ErrorIs(t, f.s.CreateSubscription(f.ctx, dup), webhook.ErrConflict)
	})

	// Update every field a caller may change; CreatedAt sent is ignored.
	upd := *again
	upd.ProjectID = "proj_1"
	upd.URL = "https://other.example.com/hook"
	upd.EventTypes = []string{"project.*", "*"}
	upd.Description = "updated"
	upd.Disabled = true
	upd.DisabledReason = "disabled by a user"
	upd.FailingSince = at(2 * time.Hour)
	upd.Secrets = []webhook.SigningSecret{
		{Secret: webhook.Secret("whsec_" + strings.Repeat("B", 43) + "="), CreatedAt: at(3 * time.Hour)},
		{Secret: again.Secrets[0].Secret, CreatedAt: again.Secrets[0].CreatedAt, ExpiresAt: at(27 * time.Hour)},
	}
	upd.CreatedAt = time.Time{}
	require.NoError(t, f.s.UpdateSubscription(f.ctx, &upd))
	require.WithinDuration(t, again.CreatedAt, upd.CreatedAt, storeSetTolerance, "UpdateSubscription must keep CreatedAt")
	require.False(t, upd.UpdatedAt.Before(again.UpdatedAt), "UpdatedAt went back")
	got, err = f.s.GetSubscription(f.ctx, sub.ID)
	require.NoError(t, err)
	requireSameSubscription(t, &upd, got)

	t.Run("organization cannot change", func(t *testing.T) {
		moved := *got
		moved.OrganizationID = "org_2"
		requireValidationError(t, f.s.UpdateSubscription(f.ctx, &moved), "OrganizationID")
		still, err := f.s.GetSubscription(f.ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, "org_1", still.OrganizationID)
	})

	t.Run("not found", func(t *testing.T) {
		missing := NewSubscription(f.ids, "org_1", "", "*")
		_, err := f.s.GetSubscription(f.ctx, missing.ID)
		require.ErrorIs(t, err, webhook.ErrNotFound)
		require.ErrorIs(t, f.s.UpdateSubscription(f.ctx, missing), webhook.ErrNotFound)
		require.ErrorIs(t, f.s.DeleteSubscription(f.ctx, missing.ID), webhook.ErrNotFound)
	})

	require.NoError(t, f.s.DeleteSubscription(f.ctx, sub.ID))
	_, err = f.s.GetSubscription(f.ctx, sub.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.ErrorIs(t, f.s.DeleteSubscription(f.ctx, sub.ID), webhook.ErrNotFound)
}

func testSubscriptionValidation(f *fixture) {
	valid := f.createSub("org_1", "", "task.created")
	tests := []struct {
		name   string
		edit   func(s *webhook.Subscription)
		field  string
		create bool // also try CreateSubscription (an update keeps the ID)
	}{
		{name: "empty ID", edit: func(s *webhook.Subscription) { s.ID = "" }, field: "ID", create: true},
		{name: "empty organization", edit: func(s *webhook.Subscription) { s.OrganizationID = "" }, field: "OrganizationID", create: true},
		{name: "no event types", edit: func(s *webhook.Subscription) { s.EventTypes = nil }, field: "EventTypes", create: true},
		{name: "unknown event type", edit: func(s *webhook.Subscription) { s.EventTypes = []string{"task.exploded"} }, field: "EventTypes", create: true},
		{name: "unknown category", edit: func(s *webhook.Subscription) { s.EventTypes = []string{"invoice.*"} }, field: "EventTypes", create: true},
		{name: "malformed wildcard", edit: func(s *webhook.Subscription) { s.EventTypes = []string{"*.created"} }, field: "EventTypes", create: true},
		{name: "empty event type", edit: func(s *webhook.Subscription) { s.EventTypes = []string{"task.created", ""} }, field: "EventTypes", create: true},
		{name: "repeated event type", edit: func(s *webhook.Subscription) { s.EventTypes = []string{"task.*", "task.*"} }, field: "EventTypes", create: true},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			if tc.create {
				sub := NewSubscription(f.ids, "org_1", "", "*")
				tc.edit(sub)
				requireValidationError(t, f.s.CreateSubscription(f.ctx, sub), tc.field)
			}
			if tc.field != "ID" && tc.field != "OrganizationID" {
				upd := *valid
				tc.edit(&upd)
				requireValidationError(t, f.s.UpdateSubscription(f.ctx, &upd), tc.field)
			}
		})
	}
	f.t.Run("nil", func(t *testing.T) {
		requireValidationError(t, f.s.CreateSubscription(f.ctx, nil), "")
		requireValidationError(t, f.s.UpdateSubscription(f.ctx, nil), "")
	})

	// Nothing invalid was stored or changed.
	subs, next, err := f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{})
	require.NoError(f.t, err)
	require.Empty(f.t, next)
	require.Len(f.t, subs, 1)
	requireSameSubscription(f.t, valid, subs[0])
}

func testListSubscriptions(f *fixture) {
	t := f.t
	var want []*webhook.Subscription
	for i := range 7 {
		project := ""
		if i%2 == 1 {
			project = "proj_1"
		}
		want = append(want, f.createSub("org_1", project, "*"))
		if i%3 == 0 {
			f.createSub("org_2", "", "*") // interleaved, never listed for org_1
		}
	}

	all, next, err := f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Equal(t, subIDs(want), subIDs(all), "one page, oldest first")
	for i := range want {
		requireSameSubscription(t, want[i], all[i])
	}

	var paged []*webhook.Subscription
	cursor := ""
	for pages := 1; ; pages++ {
		require.LessOrEqual(t, pages, 3, "7 subscriptions in pages of 3 take 3 pages")
		page, next, err := f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		require.NotEmpty(t, page, "a cursor was returned but the next page is empty")
		require.LessOrEqual(t, len(page), 3)
		paged = append(paged, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, subIDs(want), subIDs(paged), "pages of 3, oldest first")

	page, next, err := f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{Limit: 7})
	require.NoError(t, err)
	require.Len(t, page, 7)
	require.Empty(t, next, "no cursor when nothing follows")

	require.NoError(t, f.s.DeleteSubscription(f.ctx, want[2].ID))
	all, _, err = f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{})
	require.NoError(t, err)
	require.Equal(t, subIDs(slices.Delete(slices.Clone(want), 2, 3)), subIDs(all), "deleted subscription listed")

	none, next, err := f.s.ListSubscriptions(f.ctx, "org_unknown", webhook.Page{})
	require.NoError(t, err)
	require.Empty(t, none)
	require.Empty(t, next)

	_, _, err = f.s.ListSubscriptions(f.ctx, "org_1", webhook.Page{Limit: -1})
	requireValidationError(t, err, "Limit")
}

func testMatchSubscriptionIDs(f *fixture) {
	subs := map[string]*webhook.Subscription{
		"orgTaskCreated":  f.createSub("org_1", "", "task.created"),
		"orgTaskAll":      f.createSub("org_1", "", "task.*"),
		"orgEverything":   f.createSub("org_1", "", "*"),
		"orgOverlapping":  f.createSub("org_1", "", "task.*", "task.created", "comment.created"),
		"p1TaskComment":   f.createSub("org_1", "proj_1", "task.created", "comment.created"),
		"p1Project":       f.createSub("org_1", "proj_1", "project.*"),
		"p2TaskAll":       f.createSub("org_1", "proj_2", "task.*"),
		"orgDisabled":     f.createSub("org_1", "", "*"),
		"p1Disabled":      f.createSub("org_1", "proj_1", "task.created"),
		"otherOrg":        f.createSub("org_2", "", "*"),
		"otherOrgProject": f.createSub("org_2", "proj_1", "*"),
	}
	for _, name := range []string{"orgDisabled", "p1Disabled"} {
		subs[name].Disabled = true
		subs[name].DisabledReason = "storetest"
		require.NoError(f.t, f.s.UpdateSubscription(f.ctx, subs[name]))
	}

	check := func(t *testing.T, org, project string, typ webhook.EventType, names ...string) {
		t.Helper()
		got, err := f.s.MatchSubscriptionIDs(f.ctx, org, project, typ)
		require.NoError(t, err)
		want := make([]string, len(names))
		for i, n := range names {
			want[i] = subs[n].ID
		}
		require.ElementsMatch(t, want, got, "MatchSubscriptionIDs(%q, %q, %q)", org, project, typ)
	}

	tests := []struct {
		name    string
		org     string
		project string
		typ     webhook.EventType
		want    []string
	}{
		{"project event: org-wide and that project's", "org_1", "proj_1", webhook.EventTaskCreated,
			[]string{"orgTaskCreated", "orgTaskAll", "orgEverything", "orgOverlapping", "p1TaskComment"}},
		{"organization event: org-wide only", "org_1", "", webhook.EventTaskCreated,
			[]string{"orgTaskCreated", "orgTaskAll", "orgEverything", "orgOverlapping"}},
		{"category wildcard", "org_1", "proj_2", webhook.EventTaskUpdated,
			[]string{"orgTaskAll", "orgEverything", "orgOverlapping", "p2TaskAll"}},
		{"exact type in a set", "org_1", "proj_1", webhook.EventCommentCreated,
			[]string{"orgEverything", "orgOverlapping", "p1TaskComment"}},
		{"project category", "org_1", "proj_1", webhook.EventProjectArchived,
			[]string{"orgEverything", "p1Project"}},
		{"project without subscriptions", "org_1", "proj_3", webhook.EventMemberInvited,
			[]string{"orgEverything"}},
		{"other organization", "org_2", "proj_1", webhook.EventTaskCreated,
			[]string{"otherOrg", "otherOrgProject"}},
		{"unknown organization", "org_3", "proj_1", webhook.EventTaskCreated, nil},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) { check(t, tc.org, tc.project, tc.typ, tc.want...) })
	}

	// The index follows updates and deletes.
	f.t.Run("after changes", func(t *testing.T) {
		edit := func(name string, change func(s *webhook.Subscription)) {
			t.Helper()
			change(subs[name])
			require.NoError(t, f.s.UpdateSubscription(f.ctx, subs[name]))
		}
		edit("orgTaskCreated", func(s *webhook.Subscription) { s.Disabled = true })
		edit("p1Disabled", func(s *webhook.Subscription) { s.Disabled = false; s.DisabledReason = "" })
		edit("p1TaskComment", func(s *webhook.Subscription) { s.ProjectID = "proj_2" })
		edit("orgTaskAll", func(s *webhook.Subscription) { s.EventTypes = []string{"milestone.*"} })
		require.NoError(t, f.s.DeleteSubscription(f.ctx, subs["orgEverything"].ID))

		check(t, "org_1", "proj_1", webhook.EventTaskCreated, "orgOverlapping", "p1Disabled")
		check(t, "org_1", "proj_2", webhook.EventTaskCreated, "orgOverlapping", "p1TaskComment", "p2TaskAll")
		check(t, "org_1", "", webhook.EventMilestoneCompleted, "orgTaskAll")
	})
}

func testDeleteSubscriptionRemovesPending(f *fixture) {
	t := f.t
	doomed := f.createSub("org_1", "", "*")
	kept := f.createSub("org_1", "", "*")
	done := f.enqueue(doomed, webhook.EventTaskCreated, at(0))
	f.complete(f.claimOne(at(0), done.ID), webhook.StateSucceeded, 200, time.Time{})
	var gone []*webhook.Delivery
	for i := range 3 {
		gone = append(gone, f.enqueue(doomed, webhook.EventTaskCreated, at(time.Duration(i)*time.Minute)))
	}
	k1 := f.enqueue(kept, webhook.EventTaskCreated, at(0))
	k2 := f.enqueue(kept, webhook.EventTaskCreated, at(time.Minute))

	require.NoError(t, f.s.DeleteSubscription(f.ctx, doomed.ID))
	for _, d := range gone {
		_, err := f.s.GetDelivery(f.ctx, d.ID)
		require.ErrorIs(t, err, webhook.ErrNotFound, "a pending delivery of a deleted subscription remains")
	}
	require.Equal(t, []string{k1.ID, k2.ID}, deliveryIDs(f.claim(at(time.Hour), 10)))
	pendingLeft, _, err := f.s.ListDeliveries(f.ctx, webhook.DeliveryQuery{SubscriptionID: doomed.ID, State: webhook.StatePending})
	require.NoError(t, err)
	require.Empty(t, pendingLeft)
}

func testDisabledSubscriptionWaits(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	other := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	retried := f.enqueue(sub, webhook.EventTaskCreated, at(time.Second))
	o := f.enqueue(other, webhook.EventTaskCreated, at(time.Minute))

	// One delivery is in flight when the subscription is disabled.
	held := f.claimOne(at(0), d.ID)
	sub.Disabled = true
	sub.DisabledReason = "storetest"
	require.NoError(t, f.s.UpdateSubscription(f.ctx, sub))
	f.complete(held, webhook.StatePending, 500, at(time.Minute))

	require.Equal(t, []string{o.ID}, deliveryIDs(f.claim(at(time.Hour), 10)), "a disabled subscription's deliveries were claimed")
	for _, id := range []string{d.ID, retried.ID} {
		require.Equal(t, webhook.StatePending, f.get(id).State, "deliveries of a disabled subscription wait pending")
	}

	sub.Disabled = false
	sub.DisabledReason = ""
	require.NoError(t, f.s.UpdateSubscription(f.ctx, sub))
	require.ElementsMatch(t, []string{d.ID, retried.ID}, deliveryIDs(f.claim(at(time.Hour), 10)), "enabling a subscription resumes its deliveries")
}
