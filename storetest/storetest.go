package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
