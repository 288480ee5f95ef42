package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/sortid"
)

// BaseTime is where the suite's clocks start: every time the suite passes to
// a store is BaseTime plus a whole number of milliseconds, so a store that
// keeps microseconds (PostgreSQL) or milliseconds returns them unchanged.
var BaseTime = time.Date(2026, time.June, 27, 9, 0, 0, 0, time.UTC)

// NewID returns an id in the library's format: prefix ("sub_", "dlv_",
// "evt_") followed by 26 base32 characters encoding 48 bits of milliseconds
// since the Unix epoch at at, then 80 random bits. Ids with different
// milliseconds sort in time order.
func NewID(prefix string, at time.Time) string {
	var low [10]byte
	rand.Read(low[:])
	return sortid.Encode(prefix, uint64(at.UnixMilli()), low)
}

// IDGenerator makes ids whose times advance by one millisecond per call, so
// that each id sorts after the ones made before it, as ids made by the
// library at increasing times do. It is safe for concurrent use.
type IDGenerator struct {
	mu   sync.Mutex
	next time.Time
}

// NewIDGenerator returns a generator whose first id is made at start.
func NewIDGenerator(start time.Time) *IDGenerator {
	return &IDGenerator{next: start}
}

// Next returns a new id with prefix and the time encoded in it.
func (g *IDGenerator) Next(prefix string) (id string, at time.Time) {
	g.mu.Lock()
	at = g.next
	g.next = g.next.Add(time.Millisecond)
	g.mu.Unlock()
	return NewID(prefix, at), at
}

// NewSubscription returns a subscription of the organization (and project,
// if not empty) to eventTypes, with an id from ids, an https URL and one
// signing secret. It is not stored.
func NewSubscription(ids *IDGenerator, organizationID, projectID string, eventTypes ...string) *webhook.Subscription {
	id, at := ids.Next("sub_")
	return &webhook.Subscription{
		ID:             id,
		OrganizationID: organizationID,
		ProjectID:      projectID,
		URL:            "https://hooks.example.com/" + id,
		EventTypes:     eventTypes,
		Description:    "storetest subscription",
		Secrets: []webhook.SigningSecret{{
			Secret:    webhook.Secret("whsec_" + strings.Repeat("A", 43) + "="),
			CreatedAt: at,
		}},
	}
}

// NewDelivery returns a pending delivery of an event of type typ to sub, due
// at due, with ids from ids, CreatedAt the time of its id, and an envelope as
// its body. It is not stored.
func NewDelivery(ids *IDGenerator, sub *webhook.Subscription, typ webhook.EventType, due time.Time) *webhook.Delivery {
	eventID, _ := ids.Next("evt_")
	id, at := ids.Next("dlv_")
	body, err := json.Marshal(webhook.Event{
		DeliveryID:     id,
		ID:             eventID,
		Type:           typ,
		Timestamp:      at,
		OrganizationID: sub.OrganizationID,
		ProjectID:      sub.ProjectID,
		Data:           json.RawMessage(`{"storetest":true}`),
	})
	if err != nil {
		panic(err) // cannot happen: every field encodes
	}
	return &webhook.Delivery{
		ID:             id,
		EventID:        eventID,
		EventType:      typ,
		SubscriptionID: sub.ID,
		OrganizationID: sub.OrganizationID,
		ProjectID:      sub.ProjectID,
		Body:           body,
		State:          webhook.StatePending,
		NextAttemptAt:  due,
		CreatedAt:      at,
	}
}

// Run runs the conformance suite against the stores newStore returns. It
// calls newStore once per subtest, which must return an empty store; the
// subtests run sequentially.
func Run(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	tests := []struct {
		name string
		fn   func(f *fixture)
	}{
		{"SubscriptionCRUD", testSubscriptionCRUD},
		{"SubscriptionValidation", testSubscriptionValidation},
		{"ListSubscriptions", testListSubscriptions},
		{"MatchSubscriptionIDs", testMatchSubscriptionIDs},
		{"Enqueue", testEnqueue},
		{"EnqueueAtomic", testEnqueueAtomic},
		{"ClaimDueOnly", testClaimDueOnly},
		{"ClaimLimit", testClaimLimit},
		{"ClaimReturnsSubscription", testClaimReturnsSubscription},
		{"ClaimSkip", testClaimSkip},
		{"LeaseExpiry", testLeaseExpiry},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"CompleteRecordsAttempts", testCompleteRecordsAttempts},
		{"CompleteLeaseLost", testCompleteLeaseLost},
		{"Release", testRelease},
		{"ListDeliveries", testListDeliveries},
		{"Redeliver", testRedeliver},
		{"DeleteSubscriptionRemovesPending", testDeleteSubscriptionRemovesPending},
		{"DisabledSubscriptionWaits", testDisabledSubscriptionWaits},
		{"WorkNotifier", testWorkNotifier},
		{"TraceContext", testTraceContext},
		{"QueueStats", testQueueStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(&fixture{t: t, s: newStore(t), ctx: t.Context(), ids: NewIDGenerator(BaseTime)})
		})
	}
}

// fixture bundles what every subtest uses.
type fixture struct {
	t   *testing.T
	s   webhook.Store
	ctx context.Context
	ids *IDGenerator
}

// at returns BaseTime plus d.
func at(d time.Duration) time.Time { return BaseTime.Add(d) }

// lease is the lease the subtests claim with unless they test leases.
const lease = time.Hour

func (f *fixture) createSub(org, project string, eventTypes ...string) *webhook.Subscription {
	f.t.Helper()
	sub := NewSubscription(f.ids, org, project, eventTypes...)
	require.NoError(f.t, f.s.CreateSubscription(f.ctx, sub))
	return sub
}

func (f *fixture) enqueue(sub *webhook.Subscription, typ webhook.EventType, due time.Time) *webhook.Delivery {
	f.t.Helper()
	d := NewDelivery(f.ids, sub, typ, due)
	require.NoError(f.t, f.s.Enqueue(f.ctx, []*webhook.Delivery{d}))
	return d
}

func (f *fixture) claim(now time.Time, limit int) []*webhook.Delivery {
	f.t.Helper()
	return f.claimLease(now, limit, lease)
}

// claimLease claims at now with lease, checks what Claim promises of the
// subscription of each delivery (the stored one, as GetSubscription reads
// it), and returns the deliveries.
func (f *fixture) claimLease(now time.Time, limit int, lease time.Duration) []*webhook.Delivery {
	f.t.Helper()
	return f.claimSkip(now, limit, lease, nil)
}

// claimSkip is claimLease for a claim that skips the subscriptions skip.
func (f *fixture) claimSkip(now time.Time, limit int, lease time.Duration, skip []string) []*webhook.Delivery {
	f.t.Helper()
	cs, err := f.s.Claim(f.ctx, now, limit, lease, skip)
	require.NoError(f.t, err)
	require.LessOrEqual(f.t, len(cs), limit, "Claim returned more than limit")
	ds := make([]*webhook.Delivery, len(cs))
	for i, c := range cs {
		require.NotNil(f.t, c.Delivery, "Claim returned no delivery in place %d", i)
		require.NotNil(f.t, c.Subscription, "Claim returned delivery %s without its subscription", c.Delivery.ID)
		stored, err := f.s.GetSubscription(f.ctx, c.Delivery.SubscriptionID)
		require.NoError(f.t, err)
		requireSameSubscription(f.t, stored, c.Subscription)
		ds[i] = c.Delivery
	}
	return ds
}

// claimOne claims at now and requires exactly the delivery id.
func (f *fixture) claimOne(now time.Time, id string) *webhook.Delivery {
	f.t.Helper()
	ds := f.claim(now, 10)
	require.Equal(f.t, []string{id}, deliveryIDs(ds))
	return ds[0]
}

func (f *fixture) get(id string) *webhook.Delivery {
	f.t.Helper()
	d, err := f.s.GetDelivery(f.ctx, id)
	require.NoError(f.t, err)
	return d
}

// complete records an attempt for d, held by the caller, and moves it to
// state (due at next when pending).
func (f *fixture) complete(d *webhook.Delivery, state webhook.DeliveryState, status int, next time.Time) *webhook.Attempt {
	f.t.Helper()
	d.State = state
	d.AttemptCount++
	d.NextAttemptAt = next
	d.LastStatusCode = status
	d.LastError = ""
	a := &webhook.Attempt{
		DeliveryID: d.ID,
		Number:     d.AttemptCount,
		StartedAt:  at(time.Duration(d.AttemptCount) * time.Second),
		Duration:   125 * time.Millisecond,
		StatusCode: status,
	}
	if status < 200 || status > 299 {
		d.LastError = fmt.Sprintf("status %d", status)
		a.ErrorClass = webhook.ErrorClassStatus
		a.Error = d.LastError
		a.ResponseSnippet = `{"error":"try later"}`
	}
	require.NoError(f.t, f.s.Complete(f.ctx, d, a))
	return a
}

func deliveryIDs(ds []*webhook.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func subIDs(subs []*webhook.Subscription) []string {
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	return ids
}

// storeSetTolerance bounds how far a timestamp the store sets on a value
// (CreatedAt of a subscription) may be from the one it returns later: a
// database may round the time it stores.
const storeSetTolerance = time.Millisecond

func requireSameTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	require.Truef(t, want.Equal(got), "%s: want %v, got %v", field, want, got)
}

func requireSameSubscription(t *testing.T, want, got *webhook.Subscription) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.ID, got.ID, "ID")
	require.Equal(t, want.OrganizationID, got.OrganizationID, "OrganizationID")
	require.Equal(t, want.ProjectID, got.ProjectID, "ProjectID")
	require.Equal(t, want.URL, got.URL, "URL")
	require.Equal(t, want.EventTypes, got.EventTypes, "EventTypes")
	require.Equal(t, want.Description, got.Description, "Description")
	require.Equal(t, want.Disabled, got.Disabled, "Disabled")
	require.Equal(t, want.DisabledReason, got.DisabledReason, "DisabledReason")
	require.Len(t, got.Secrets, len(want.Secrets), "Secrets")
	for i := range want.Secrets {
		require.True(t, want.Secrets[i].Secret == got.Secrets[i].Secret, "Secrets[%d].Secret differs", i)
		requireSameTime(t, want.Secrets[i].CreatedAt, got.Secrets[i].CreatedAt, fmt.Sprintf("Secrets[%d].CreatedAt", i))
		requireSameTime(t, want.Secrets[i].ExpiresAt, got.Secrets[i].ExpiresAt, fmt.Sprintf("Secrets[%d].ExpiresAt", i))
	}
	requireSameTime(t, want.FailingSince, got.FailingSince, "FailingSince")
	require.WithinDuration(t, want.CreatedAt, got.CreatedAt, storeSetTolerance, "CreatedAt")
	require.WithinDuration(t, want.UpdatedAt, got.UpdatedAt, storeSetTolerance, "UpdatedAt")
}

// requireSameDelivery compares what a caller stores in a delivery; lease and
// UpdatedAt are the store's business.
func requireSameDelivery(t *testing.T, want, got *webhook.Delivery) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.ID, got.ID, "ID")
	require.Equal(t, want.EventID, got.EventID, "EventID")
	require.Equal(t, want.EventType, got.EventType, "EventType")
	require.Equal(t, want.SubscriptionID, got.SubscriptionID, "SubscriptionID")
	require.Equal(t, want.OrganizationID, got.OrganizationID, "OrganizationID")
	require.Equal(t, want.ProjectID, got.ProjectID, "ProjectID")
	require.True(t, bytes.Equal(want.Body, got.Body), "Body: want %q, got %q", want.Body, got.Body)
	require.Equal(t, want.State, got.State, "State")
	require.Equal(t, want.AttemptCount, got.AttemptCount, "AttemptCount")
	requireSameTime(t, want.NextAttemptAt, got.NextAttemptAt, "NextAttemptAt")
	require.Equal(t, want.LastStatusCode, got.LastStatusCode, "LastStatusCode")
	require.Equal(t, want.LastError, got.LastError, "LastError")
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
}

func requireValidationError(t *testing.T, err error, field string) {
	t.Helper()
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	if field != "" {
		require.Equal(t, field, ve.Field, "ValidationError.Field (%v)", err)
	}
}

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

func testEnqueue(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "proj_1", "*")
	ds := []*webhook.Delivery{
		NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(time.Minute)),
		NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(2*time.Minute)),
		NewDelivery(f.ids, sub, webhook.EventCommentCreated, at(0)),
	}
	ds[1].State = "" // Enqueue stores every delivery as pending
	require.NoError(t, f.s.Enqueue(f.ctx, ds))
	ds[1].State = webhook.StatePending
	for _, d := range ds {
		got := f.get(d.ID)
		requireSameDelivery(t, d, got)
		require.False(t, got.UpdatedAt.IsZero(), "UpdatedAt")
	}

	// Neither the value passed in nor the one returned aliases stored state.
	ds[0].State = webhook.StateFailed
	ds[0].NextAttemptAt = at(time.Hour)
	got := f.get(ds[0].ID)
	got.State = webhook.StateSucceeded
	got.AttemptCount = 7
	got = f.get(ds[0].ID)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.AttemptCount)
	requireSameTime(t, at(time.Minute), got.NextAttemptAt, "NextAttemptAt")

	_, err := f.s.GetDelivery(f.ctx, NewID("dlv_", BaseTime))
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.NoError(t, f.s.Enqueue(f.ctx, nil), "an empty batch is a no-op")

	t.Run("CreatedAt defaults to now", func(t *testing.T) {
		d := NewDelivery(f.ids, sub, webhook.EventTaskDeleted, at(0))
		d.CreatedAt = time.Time{}
		require.NoError(t, f.s.Enqueue(f.ctx, []*webhook.Delivery{d}))
		require.False(t, f.get(d.ID).CreatedAt.IsZero())
	})
}

func testEnqueueAtomic(f *fixture) {
	sub := f.createSub("org_1", "", "*")
	existing := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	tests := []struct {
		name  string
		batch func(fresh []*webhook.Delivery) []*webhook.Delivery
		check func(t *testing.T, err error)
	}{
		{
			name: "id already stored",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				dup := *fresh[2]
				dup.ID = existing.ID
				return []*webhook.Delivery{fresh[0], fresh[1], &dup}
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, webhook.ErrConflict) },
		},
		{
			name: "id twice in the batch",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				dup := *fresh[0]
				return []*webhook.Delivery{fresh[0], fresh[1], &dup}
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, webhook.ErrConflict) },
		},
		{
			name: "nil delivery",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				return []*webhook.Delivery{fresh[0], nil, fresh[1]}
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "") },
		},
		{
			name: "empty id",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				fresh[2].ID = ""
				return fresh
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "ID") },
		},
		{
			name: "no subscription",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				fresh[2].SubscriptionID = ""
				return fresh
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "SubscriptionID") },
		},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			fresh := []*webhook.Delivery{
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
			}
			ids := deliveryIDs(fresh)
			tc.check(t, f.s.Enqueue(f.ctx, tc.batch(fresh)))
			for _, id := range ids {
				if id == existing.ID || id == "" {
					continue
				}
				_, err := f.s.GetDelivery(f.ctx, id)
				require.ErrorIs(t, err, webhook.ErrNotFound, "part of a failed batch was stored")
			}
		})
	}
	// The stored delivery is untouched and the queue holds it alone.
	requireSameDelivery(f.t, existing, f.get(existing.ID))
	f.claimOne(at(time.Hour), existing.ID)
}

func testClaimDueOnly(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d3 := f.enqueue(sub, webhook.EventTaskCreated, at(3*time.Minute))
	d1 := f.enqueue(sub, webhook.EventTaskCreated, at(1*time.Minute))
	d2 := f.enqueue(sub, webhook.EventTaskCreated, at(2*time.Minute))
	d10 := f.enqueue(sub, webhook.EventTaskCreated, at(10*time.Minute))

	require.Empty(t, f.claim(at(0), 10), "nothing is due yet")
	require.Empty(t, f.claim(at(time.Minute-time.Millisecond), 10), "nothing is due yet")

	// Due at exactly now counts; oldest due first.
	now := at(2 * time.Minute)
	got := f.claim(now, 10)
	require.Equal(t, []string{d1.ID, d2.ID}, deliveryIDs(got))
	for _, d := range got {
		require.Equal(t, webhook.StateDelivering, d.State)
		requireSameTime(t, now.Add(lease), d.LeaseExpiresAt, "LeaseExpiresAt")
		stored := f.get(d.ID)
		require.Equal(t, webhook.StateDelivering, stored.State)
		requireSameTime(t, now.Add(lease), stored.LeaseExpiresAt, "stored LeaseExpiresAt")
	}
	require.Empty(t, f.claim(now, 10), "held deliveries are not claimed again")

	got = f.claim(at(5*time.Minute), 10)
	require.Equal(t, []string{d3.ID}, deliveryIDs(got))
	requireSameDelivery(t, &webhook.Delivery{
		ID: d3.ID, EventID: d3.EventID, EventType: d3.EventType, SubscriptionID: d3.SubscriptionID,
		OrganizationID: d3.OrganizationID, ProjectID: d3.ProjectID, Body: d3.Body,
		State: webhook.StateDelivering, NextAttemptAt: d3.NextAttemptAt, CreatedAt: d3.CreatedAt,
	}, got[0])
	f.claimOne(at(10*time.Minute), d10.ID)

	t.Run("invalid arguments", func(t *testing.T) {
		_, err := f.s.Claim(f.ctx, at(time.Hour), 0, lease, nil)
		requireValidationError(t, err, "")
		_, err = f.s.Claim(f.ctx, at(time.Hour), 10, 0, nil)
		requireValidationError(t, err, "")
	})
}

func testClaimLimit(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	var want []string
	for i := range 5 {
		// Enqueued in reverse due order: the claim order must come from
		// NextAttemptAt, not from insertion or id order.
		d := f.enqueue(sub, webhook.EventTaskCreated, at(time.Duration(5-i)*time.Second))
		want = append([]string{d.ID}, want...)
	}
	now := at(time.Minute)
	var got []string
	for _, n := range []int{2, 2, 1} {
		ds := f.claim(now, 2)
		require.Len(t, ds, n)
		got = append(got, deliveryIDs(ds)...)
	}
	require.Equal(t, want, got, "oldest due first")
	require.Empty(t, f.claim(now, 2))
}

// testClaimReturnsSubscription checks the subscription Claim returns with
// each delivery: its own, as last updated before the claim (claimLease
// compares it with GetSubscription's), and unchanged by later updates,
// which the Dispatcher relies on when it reads it during the attempt.
func testClaimReturnsSubscription(f *fixture) {
	t := f.t
	a := f.createSub("org_1", "", "*")
	b := f.createSub("org_1", "proj_1", "task.*")
	rotated := *a
	rotated.URL = "https://hooks.example.com/moved"
	rotated.Secrets = []webhook.SigningSecret{
		{Secret: webhook.Secret("whsec_" + strings.Repeat("B", 43) + "="), CreatedAt: at(time.Second)},
		{Secret: a.Secrets[0].Secret, CreatedAt: a.Secrets[0].CreatedAt, ExpiresAt: at(time.Hour)},
	}
	require.NoError(t, f.s.UpdateSubscription(f.ctx, &rotated))
	da1 := f.enqueue(a, webhook.EventTaskCreated, at(0))
	db := f.enqueue(b, webhook.EventTaskCreated, at(time.Millisecond))
	da2 := f.enqueue(a, webhook.EventTaskUpdated, at(2*time.Millisecond))

	cs, err := f.s.Claim(f.ctx, at(time.Minute), 10, lease, nil)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	want := map[string]string{da1.ID: a.ID, db.ID: b.ID, da2.ID: a.ID}
	for _, c := range cs {
		require.NotNil(t, c.Delivery)
		require.NotNil(t, c.Subscription, "delivery %s claimed without its subscription", c.Delivery.ID)
		require.Equal(t, want[c.Delivery.ID], c.Subscription.ID, "subscription of delivery %s", c.Delivery.ID)
		stored, err := f.s.GetSubscription(f.ctx, c.Subscription.ID)
		require.NoError(t, err)
		requireSameSubscription(t, stored, c.Subscription)
	}

	again := rotated
	again.URL = "https://hooks.example.com/moved-again"
	again.Secrets = []webhook.SigningSecret{{Secret: webhook.Secret("whsec_" + strings.Repeat("C", 43) + "="), CreatedAt: at(2 * time.Second)}}
	require.NoError(t, f.s.UpdateSubscription(f.ctx, &again))
	for _, c := range cs {
		if c.Subscription.ID == a.ID {
			require.Equal(t, rotated.URL, c.Subscription.URL, "a claimed subscription is a snapshot")
			require.Len(t, c.Subscription.Secrets, 2, "a claimed subscription is a snapshot")
		}
	}
}

// testClaimSkip checks that Claim leaves the deliveries of skipped
// subscriptions pending, in their place, and claims those due after them,
// including a skipped subscription's delivery whose lease expired.
func testClaimSkip(f *fixture) {
	t := f.t
	busy := f.createSub("org_1", "", "*")
	other := f.createSub("org_1", "", "*")
	third := f.createSub("org_1", "", "*")
	b1 := f.enqueue(busy, webhook.EventTaskCreated, at(1*time.Second))
	b2 := f.enqueue(busy, webhook.EventTaskCreated, at(2*time.Second))
	o1 := f.enqueue(other, webhook.EventTaskCreated, at(3*time.Second))
	b3 := f.enqueue(busy, webhook.EventTaskCreated, at(4*time.Second))
	t1 := f.enqueue(third, webhook.EventTaskCreated, at(5*time.Second))

	// A lease on b1 that expires before b2 is due.
	leased := f.claimLease(at(time.Second), 1, time.Second/2)
	require.Equal(t, []string{b1.ID}, deliveryIDs(leased))

	now := at(time.Minute)
	got := f.claimSkip(now, 10, lease, []string{busy.ID})
	require.Equal(t, []string{o1.ID, t1.ID}, deliveryIDs(got), "the deliveries due after the skipped ones")
	for _, d := range []*webhook.Delivery{b2, b3} {
		require.Equal(t, webhook.StatePending, f.get(d.ID).State, "a skipped delivery stays pending")
	}
	require.Empty(t, f.claimSkip(now, 10, lease, []string{busy.ID, "sub_unknown"}))

	got = f.claimSkip(now, 2, lease, []string{other.ID})
	require.Equal(t, []string{b1.ID, b2.ID}, deliveryIDs(got), "skipped deliveries keep their place")
	got = f.claim(now, 10)
	require.Equal(t, []string{b3.ID}, deliveryIDs(got))
}

func testLeaseExpiry(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	first := f.claimLease(at(0), 10, 30*time.Second)
	require.Equal(t, []string{d.ID}, deliveryIDs(first))
	requireSameTime(t, at(30*time.Second), first[0].LeaseExpiresAt, "LeaseExpiresAt")

	// The lease expires strictly after LeaseExpiresAt.
	none := f.claimLease(at(30*time.Second), 10, 30*time.Second)
	require.Empty(t, none, "claimed before the lease expired")

	second := f.claimLease(at(31*time.Second), 10, 30*time.Second)
	require.Equal(t, []string{d.ID}, deliveryIDs(second), "an expired lease lets another claimer take the delivery")
	requireSameTime(t, at(61*time.Second), second[0].LeaseExpiresAt, "LeaseExpiresAt")

	// The first claimer lost its lease; the second holds it.
	first[0].State = webhook.StateSucceeded
	first[0].AttemptCount = 1
	require.ErrorIs(t, f.s.Complete(f.ctx, first[0], &webhook.Attempt{Number: 1, StatusCode: 200, StartedAt: at(0)}), webhook.ErrLeaseLost)
	require.ErrorIs(t, f.s.Release(f.ctx, first[0], at(0)), webhook.ErrLeaseLost)
	f.complete(second[0], webhook.StateSucceeded, 200, time.Time{})
	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the attempt of the lost lease was recorded")
}

func testConcurrentClaimers(f *fixture) {
	t := f.t
	const (
		total    = 500
		claimers = 4
		limit    = 7
	)
	var subs []*webhook.Subscription
	for i := range 5 {
		subs = append(subs, f.createSub("org_1", fmt.Sprintf("proj_%d", i), "*"))
	}
	var batch []*webhook.Delivery
	for i := range total {
		batch = append(batch, NewDelivery(f.ids, subs[i%len(subs)], webhook.EventTaskUpdated, at(time.Duration(i)*time.Millisecond)))
	}
	require.NoError(t, f.s.Enqueue(f.ctx, batch))

	var (
		mu       sync.Mutex
		holder   = make(map[string]int) // delivery id → claimer holding it
		claims   = make(map[string]int) // delivery id → times claimed
		released = make(map[string]bool)
	)
	now := at(time.Minute)
	g, ctx := errgroup.WithContext(f.ctx)
	for c := range claimers {
		g.Go(func() error {
			for {
				cs, err := f.s.Claim(ctx, now, limit, lease, nil)
				if err != nil {
					return fmt.Errorf("claimer %d: Claim: %w", c, err)
				}
				if len(cs) == 0 {
					return nil
				}
				if len(cs) > limit {
					return fmt.Errorf("claimer %d: Claim returned %d > limit %d", c, len(cs), limit)
				}
				ds := make([]*webhook.Delivery, len(cs))
				for i, cl := range cs {
					if cl.Subscription == nil || cl.Subscription.ID != cl.Delivery.SubscriptionID {
						return fmt.Errorf("claimer %d: delivery %s claimed without its subscription", c, cl.Delivery.ID)
					}
					ds[i] = cl.Delivery
				}
				mu.Lock()
				for _, d := range ds {
					if h, held := holder[d.ID]; held {
						mu.Unlock()
						return fmt.Errorf("delivery %s claimed by %d while %d holds it", d.ID, c, h)
					}
					holder[d.ID] = c
					claims[d.ID]++
				}
				mu.Unlock()
				for i, d := range ds {
					mu.Lock()
					release := i%2 == 0 && !released[d.ID] // hand some back to be claimed again
					released[d.ID] = released[d.ID] || release
					delete(holder, d.ID) // before the store lets anyone else take it
					mu.Unlock()
					if release {
						if err := f.s.Release(ctx, d, now); err != nil {
							return fmt.Errorf("claimer %d: Release: %w", c, err)
						}
						continue
					}
					d.State = webhook.StateSucceeded
					d.AttemptCount++
					a := &webhook.Attempt{DeliveryID: d.ID, Number: d.AttemptCount, StartedAt: now, StatusCode: 200}
					if err := f.s.Complete(ctx, d, a); err != nil {
						return fmt.Errorf("claimer %d: Complete: %w", c, err)
					}
				}
			}
		})
	}
	require.NoError(t, g.Wait())

	require.Len(t, claims, total, "every delivery was claimed")
	for _, d := range batch {
		want := 1
		if released[d.ID] {
			want = 2
		}
		require.Equal(t, want, claims[d.ID], "claims of %s", d.ID)
		got := f.get(d.ID)
		require.Equal(t, webhook.StateSucceeded, got.State)
		require.Equal(t, 1, got.AttemptCount)
	}
}

func testCompleteRecordsAttempts(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	// A failed attempt schedules a retry.
	held := f.claimOne(at(0), d.ID)
	a1 := f.complete(held, webhook.StatePending, 503, at(5*time.Minute))
	want := *d
	want.AttemptCount, want.NextAttemptAt, want.LastStatusCode, want.LastError = 1, at(5*time.Minute), 503, "status 503"
	requireSameDelivery(t, &want, f.get(d.ID))
	require.Empty(t, f.claim(at(5*time.Minute-time.Millisecond), 10), "claimed before its retry is due")

	// The retry succeeds.
	held = f.claimOne(at(5*time.Minute), d.ID)
	require.Equal(t, 1, held.AttemptCount)
	a2 := f.complete(held, webhook.StateSucceeded, 200, held.NextAttemptAt)
	want.State, want.AttemptCount, want.LastStatusCode, want.LastError = webhook.StateSucceeded, 2, 200, ""
	requireSameDelivery(t, &want, f.get(d.ID))
	require.Empty(t, f.claim(at(1000*time.Hour), 10), "a succeeded delivery is claimed")

	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	for i, w := range []*webhook.Attempt{a1, a2} {
		g := attempts[i]
		require.Equal(t, d.ID, g.DeliveryID)
		require.Equal(t, w.Number, g.Number, "attempts oldest first")
		requireSameTime(t, w.StartedAt, g.StartedAt, "StartedAt")
		require.Equal(t, w.Duration, g.Duration)
		require.Equal(t, w.StatusCode, g.StatusCode)
		require.Equal(t, w.ErrorClass, g.ErrorClass)
		require.Equal(t, w.Error, g.Error)
		require.Equal(t, w.ResponseSnippet, g.ResponseSnippet)
	}
	attempts[0].StatusCode = 999
	again, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, 503, again[0].StatusCode, "ListAttempts returns copies")

	t.Run("failed is final", func(t *testing.T) {
		d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
		held := f.claimOne(at(0), d.ID)
		held.State = webhook.StateFailed
		held.AttemptCount = 1
		held.LastStatusCode = 0
		held.LastError = "connection refused"
		a := &webhook.Attempt{Number: 1, StartedAt: at(0), ErrorClass: webhook.ErrorClassConnection, Error: "connection refused"}
		require.NoError(t, f.s.Complete(f.ctx, held, a))
		got := f.get(d.ID)
		require.Equal(t, webhook.StateFailed, got.State)
		require.Equal(t, "connection refused", got.LastError)
		require.Empty(t, f.claim(at(1000*time.Hour), 10))
		attempts, err := f.s.ListAttempts(f.ctx, d.ID)
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, d.ID, attempts[0].DeliveryID, "an empty Attempt.DeliveryID is set to the delivery's")
	})

	t.Run("invalid", func(t *testing.T) {
		d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
		held := f.claimOne(at(0), d.ID)
		bad := *held
		bad.State = webhook.StateDelivering
		requireValidationError(t, f.s.Complete(f.ctx, &bad, &webhook.Attempt{Number: 1}), "")
		bad.State = ""
		requireValidationError(t, f.s.Complete(f.ctx, &bad, &webhook.Attempt{Number: 1}), "")
		ok := *held
		ok.State = webhook.StateSucceeded
		requireValidationError(t, f.s.Complete(f.ctx, &ok, nil), "")
		requireValidationError(t, f.s.Complete(f.ctx, nil, &webhook.Attempt{Number: 1}), "")
		// Nothing was recorded; the holder can still complete.
		attempts, err := f.s.ListAttempts(f.ctx, d.ID)
		require.NoError(t, err)
		require.Empty(t, attempts)
		f.complete(held, webhook.StateSucceeded, 204, time.Time{})
	})

	_, err = f.s.ListAttempts(f.ctx, NewID("dlv_", BaseTime))
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func testCompleteLeaseLost(f *fixture) {
	sub := f.createSub("org_1", "", "*")
	tests := []struct {
		name string
		// holder returns a delivery the caller wrongly believes it holds.
		holder func(t *testing.T) *webhook.Delivery
		errs   []error
	}{
		{
			name: "never claimed",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(1000*time.Hour))
				d.LeaseExpiresAt = at(lease)
				return d
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "already completed",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
				held := f.claimOne(at(0), d.ID)
				stale := *held
				f.complete(held, webhook.StateSucceeded, 200, time.Time{})
				return &stale
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "other lease",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
				held := f.claimOne(at(0), d.ID)
				forged := *held
				forged.LeaseExpiresAt = held.LeaseExpiresAt.Add(time.Second)
				return &forged
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "unknown delivery",
			holder: func(t *testing.T) *webhook.Delivery {
				d := NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(0))
				d.State = webhook.StateDelivering
				d.LeaseExpiresAt = at(lease)
				return d
			},
			errs: []error{webhook.ErrLeaseLost, webhook.ErrNotFound},
		},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			d := tc.holder(t)
			before, beforeErr := f.s.ListAttempts(f.ctx, d.ID)
			d.State = webhook.StateFailed
			d.AttemptCount++
			err := f.s.Complete(f.ctx, d, &webhook.Attempt{Number: d.AttemptCount, StartedAt: at(0), StatusCode: 500})
			requireOneOf(t, err, tc.errs)
			requireOneOf(t, f.s.Release(f.ctx, d, at(0)), tc.errs)
			after, afterErr := f.s.ListAttempts(f.ctx, d.ID)
			require.Equal(t, beforeErr == nil, afterErr == nil)
			require.Len(t, after, len(before), "an attempt was recorded without the lease")
		})
	}
}

func requireOneOf(t *testing.T, err error, targets []error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	require.Failf(t, "unexpected error", "got %v, want one of %v", err, targets)
}

func testRelease(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	held := f.claimOne(at(0), d.ID)

	require.NoError(t, f.s.Release(f.ctx, held, at(5*time.Minute)))
	got := f.get(d.ID)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.AttemptCount, "Release is not an attempt")
	requireSameTime(t, at(5*time.Minute), got.NextAttemptAt, "NextAttemptAt")
	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Empty(t, attempts, "Release records no attempt")

	require.Empty(t, f.claim(at(5*time.Minute-time.Millisecond), 10))
	require.ErrorIs(t, f.s.Release(f.ctx, held, at(0)), webhook.ErrLeaseLost, "released twice")
	again := f.claimOne(at(5*time.Minute), d.ID)
	f.complete(again, webhook.StateSucceeded, 200, time.Time{})
	requireValidationError(t, f.s.Release(f.ctx, nil, at(0)), "")
}

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

func testWorkNotifier(f *fixture) {
	n, ok := f.s.(webhook.WorkNotifier)
	if !ok {
		f.t.Skipf("%T does not implement webhook.WorkNotifier", f.s)
	}
	t := f.t
	ch := n.WorkAvailable()
	require.NotNil(t, ch)
	drain := func() {
		for {
			select {
			case <-ch:
			default:
				return
			}
		}
	}
	await := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "WorkAvailable did not signal after "+what)
		}
	}

	sub := f.createSub("org_1", "", "*")
	drain()
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	await("Enqueue")

	held := f.claimOne(at(0), d.ID)
	drain()
	require.NoError(t, f.s.Release(f.ctx, held, at(0)))
	await("Release")

	// Signals coalesce: many enqueues never block the store.
	for range 100 {
		f.enqueue(sub, webhook.EventTaskCreated, at(0))
	}
	await("100 Enqueues")
}
