package webhook

import (
	"context"
	"errors"
	"time"
)

// Store keeps subscriptions and the delivery queue with its log. The
// Dispatcher is its consumer; MemoryStore, pgstore and sqlitestore implement
// it, and storetest.Run checks an implementation against the contract
// documented here. Implementations must be safe for concurrent use.
//
// Lists are ordered by id: the library's ids sort by creation time (see
// storetest.NewID for their format), so "oldest first" is ascending id and
// "newest first" descending id, and a page cursor is an opaque string that
// says where the previous page stopped. A non-empty cursor is returned only
// when another item follows. Invalid input (nil values, empty ids, bad event
// types, a negative page Limit) is reported as a *ValidationError.
type Store interface {
	SubscriptionStore
	DeliveryStore
}

// SubscriptionStore keeps subscriptions and matches events to them.
type SubscriptionStore interface {
	// CreateSubscription stores sub, whose ID the caller has set. It sets
	// CreatedAt and UpdatedAt. It refuses what ValidateSubscription
	// refuses; URL checks are the Dispatcher's. ErrConflict if the ID exists.
	CreateSubscription(ctx context.Context, sub *Subscription) error
	// GetSubscription returns the subscription with id, or ErrNotFound.
	GetSubscription(ctx context.Context, id string) (*Subscription, error)
	// ListSubscriptions returns an organization's subscriptions in creation
	// order (oldest first), one page at a time.
	ListSubscriptions(ctx context.Context, organizationID string, page Page) ([]*Subscription, string, error)
	// UpdateSubscription replaces the stored subscription with sub (matched by
	// ID; OrganizationID and CreatedAt cannot change) and sets UpdatedAt.
	// It returns ErrNotFound if there is none. A different OrganizationID is
	// a *ValidationError; sub.CreatedAt is ignored and set to the stored one.
	// Enabling a subscription makes its waiting deliveries claimable again.
	UpdateSubscription(ctx context.Context, sub *Subscription) error
	// DeleteSubscription removes the subscription and its pending
	// deliveries; its delivery log may be kept. ErrNotFound if there is none.
	DeleteSubscription(ctx context.Context, id string) error
	// MatchSubscriptionIDs returns the ids of the enabled subscriptions that
	// receive an event of type typ in the organization and project (empty
	// for an organization-level event): organization-wide ones and those of
	// that project, whose EventTypes contain typ, its category wildcard
	// ("task.*") or "*", each once, in no particular order. It must use an
	// index, not scan every subscription. Ids are all
	// Publish needs: the subscription itself is read when a delivery is
	// claimed (see Claimed).
	MatchSubscriptionIDs(ctx context.Context, organizationID, projectID string, typ EventType) ([]string, error)
}

// DeliveryStore keeps the delivery queue and the delivery log.
type DeliveryStore interface {
	// Enqueue stores the deliveries, all or none, in StatePending with their
	// NextAttemptAt. It keeps CreatedAt when set (the Dispatcher sets it from
	// its clock) and sets it to the current time when zero. ErrConflict if
	// an ID exists or repeats in the batch. It refuses the batch if
	// ValidateDelivery refuses one of its deliveries. TraceContext is kept
	// as given and returned with the delivery by Claim, GetDelivery and
	// ListDeliveries.
	Enqueue(ctx context.Context, deliveries []*Delivery) error
	// Claim leases up to limit pending deliveries due at now (NextAttemptAt
	// <= now), plus delivering ones whose lease expired before now, oldest
	// due first. It moves them to StateDelivering with LeaseExpiresAt =
	// now+lease. A delivery is never held by two claimers at once; an expired
	// lease is where a duplicate delivery can come from. Deliveries of a
	// disabled subscription are not claimed: they stay pending until it is
	// enabled again. limit and lease must be positive. The returned
	// LeaseExpiresAt must compare Equal to the stored one (mind the time
	// precision of a database), since Complete and Release check it.
	// Each delivery comes with its subscription as the claim read it (see
	// Claimed). Claim skips, leaving them pending, the deliveries of the
	// subscriptions whose ids are in skip (a Dispatcher already holds as
	// many of theirs as their endpoint can take soon): the deliveries due
	// after them are claimed instead, so one endpoint's backlog cannot fill
	// every claim. A store that cannot open the signing secrets of a
	// claimed delivery's subscription (see package keyring) returns the
	// *keyring.KeyError and no delivery, so none is ever sent unsigned.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]Claimed, error)
	// Complete records attempt a of the delivery d, which the caller holds,
	// and stores d's new State, AttemptCount, NextAttemptAt, LastStatusCode
	// and LastError (pending with a new NextAttemptAt for a retry, succeeded
	// or failed). It returns ErrLeaseLost if d is no longer delivering under
	// the lease the caller holds (d.LeaseExpiresAt as claimed). d.State must
	// be pending, succeeded or failed. a.DeliveryID, when empty, is set to
	// d.ID.
	Complete(ctx context.Context, d *Delivery, a *Attempt) error
	// Release returns a delivery the caller holds to StatePending, due at
	// at, without recording an attempt: used when the dispatcher cannot send
	// it (shutting down, its lease too short for another attempt).
	Release(ctx context.Context, d *Delivery, at time.Time) error
	// GetDelivery returns the delivery with id, or ErrNotFound.
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	// ListDeliveries returns the deliveries matching q, newest first, one
	// page at a time.
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, string, error)
	// ListAttempts returns the attempts of a delivery, oldest first, or
	// ErrNotFound if there is no such delivery.
	ListAttempts(ctx context.Context, deliveryID string) ([]*Attempt, error)
	// Redeliver moves a failed (or succeeded) delivery back to StatePending,
	// due at at, keeping its id, body and attempts. ErrNotFound if there is
	// none; ErrConflict if it is pending or delivering.
	Redeliver(ctx context.Context, id string, at time.Time) error
}

// Claimed is a delivery leased by Store.Claim, with the subscription it is
// sent to as read by the same claim: the Dispatcher sends it with that
// subscription's URL and secrets, reading the subscription again only when
// it may have changed since (see Dispatcher).
// Subscription is never nil, since stores claim only the deliveries of
// subscriptions that exist and are enabled. It is read-only: a store may
// share it, or its slices, with other claims and with itself.
type Claimed struct {
	Delivery     *Delivery
	Subscription *Subscription
}

// ValidateSubscription reports, as a *ValidationError naming the field, a
// subscription that a SubscriptionStore must refuse: nil, without ID or
// OrganizationID, or with invalid EventTypes (patterns of the catalog's types or categories, or "*", none repeated). URL
// rules are the Dispatcher's, which knows its configuration. The stores of
// this module all call it, so they refuse the same input.
func ValidateSubscription(sub *Subscription) error {
	switch {
	case sub == nil:
		return &ValidationError{Field: "Subscription", Reason: "is nil"}
	case sub.ID == "":
		return &ValidationError{Field: "ID", Reason: "is empty"}
	case sub.OrganizationID == "":
		return &ValidationError{Field: "OrganizationID", Reason: "is empty"}
	}
	return validateEventTypes(sub.EventTypes)
}

// ValidateDelivery reports, as a *ValidationError naming the field, a
// delivery that a DeliveryStore must refuse at Enqueue: nil, without ID,
// SubscriptionID, OrganizationID or EventType, or with a negative
// AttemptCount. The stores of this module all call it.
func ValidateDelivery(d *Delivery) error {
	switch {
	case d == nil:
		return &ValidationError{Field: "Delivery", Reason: "is nil"}
	case d.ID == "":
		return &ValidationError{Field: "ID", Reason: "is empty"}
	case d.SubscriptionID == "":
		return &ValidationError{Field: "SubscriptionID", Reason: "is empty"}
	case d.OrganizationID == "":
		return &ValidationError{Field: "OrganizationID", Reason: "is empty"}
	case d.EventType == "":
		return &ValidationError{Field: "EventType", Reason: "is empty"}
	case d.AttemptCount < 0:
		return &ValidationError{Field: "AttemptCount", Reason: "is negative"}
	}
	return nil
}

// Page selects one page of a list. The zero value is the first page of
// DefaultPageSize items.
type Page struct {
	// Limit is the page size. Defaults to DefaultPageSize; at most MaxPageSize.
	Limit int
	// Cursor is the next-page cursor returned with the previous page; empty
	// for the first page.
	Cursor string
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Size returns the number of items p asks for: DefaultPageSize when Limit is
// zero, at most MaxPageSize. A negative Limit is a *ValidationError.
func (p Page) Size() (int, error) {
	switch {
	case p.Limit < 0:
		return 0, &ValidationError{Field: "Limit", Reason: "must not be negative"}
	case p.Limit == 0:
		return DefaultPageSize, nil
	case p.Limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return p.Limit, nil
}

// ErrConflict is returned by a Store when an id already exists, or when a
// delivery is not in a state that allows the operation (Redeliver of a
// pending delivery).
var ErrConflict = errors.New("webhook: conflict")

// DeliveryQuery filters the delivery log. Zero fields do not filter.
type DeliveryQuery struct {
	OrganizationID string
	SubscriptionID string
	State          DeliveryState
	EventType      EventType
	// CreatedAfter and CreatedBefore bound the creation time (inclusive,
	// exclusive).
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Page          Page
}

// WorkNotifier is implemented by stores that can wake idle dispatchers when
// deliveries are enqueued (MemoryStore in process, pgstore with
// LISTEN/NOTIFY). A Dispatcher whose store is not a WorkNotifier polls.
type WorkNotifier interface {
	// WorkAvailable returns a channel that receives a value after deliveries
	// are enqueued or released. Sends do not block; values may coalesce.
	// Every call may return the same channel: with several dispatchers on
	// one store, one of them wakes, and the others find the work by polling.
	WorkAvailable() <-chan struct{}
}
