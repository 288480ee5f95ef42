package webhook

import (
	"context"
	"time"
)

// Store keeps subscriptions and the delivery queue with its log. The
// Dispatcher is its consumer; MemoryStore, pgstore and sqlitestore implement
// it, and storetest.Run checks an implementation against the contract
// documented here. Implementations must be safe for concurrent use.
type Store interface {
	SubscriptionStore
	DeliveryStore
}

// SubscriptionStore keeps subscriptions and matches events to them.
type SubscriptionStore interface {
	// CreateSubscription stores sub, whose ID the caller has set. It sets
	// CreatedAt and UpdatedAt.
	CreateSubscription(ctx context.Context, sub *Subscription) error
	// GetSubscription returns the subscription with id, or ErrNotFound.
	GetSubscription(ctx context.Context, id string) (*Subscription, error)
	// ListSubscriptions returns an organization's subscriptions in creation
	// order (oldest first), one page at a time.
	ListSubscriptions(ctx context.Context, organizationID string, page Page) ([]*Subscription, string, error)
	// UpdateSubscription replaces the stored subscription with sub (matched by
	// ID; OrganizationID and CreatedAt cannot change) and sets UpdatedAt.
	// It returns ErrNotFound if there is none.
	UpdateSubscription(ctx context.Context, sub *Subscription) error
	// DeleteSubscription removes the subscription and its pending
	// deliveries; its delivery log may be kept. ErrNotFound if there is none.
	DeleteSubscription(ctx context.Context, id string) error
	// MatchSubscriptions returns the enabled subscriptions that receive an
	// event of type typ in the organization and project (empty for an
	// organization-level event): organization-wide ones and those of that
	// project, whose EventTypes contain typ, its category wildcard or "*".
	// It must use an index, not scan every subscription.
	MatchSubscriptions(ctx context.Context, organizationID, projectID string, typ EventType) ([]*Subscription, error)
}

// DeliveryStore keeps the delivery queue and the delivery log.
type DeliveryStore interface {
	// Enqueue stores the deliveries, all or none, in StatePending with their
	// NextAttemptAt.
	Enqueue(ctx context.Context, deliveries []*Delivery) error
	// Claim leases up to limit pending deliveries due at now (NextAttemptAt
	// <= now), plus delivering ones whose lease expired before now, oldest
	// due first. It moves them to StateDelivering with LeaseExpiresAt =
	// now+lease. A delivery is never held by two claimers at once; an expired
	// lease is where a duplicate delivery can come from.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error)
	// Complete records attempt a of the delivery d, which the caller holds,
	// and stores d's new State, AttemptCount, NextAttemptAt, LastStatusCode
	// and LastError (pending with a new NextAttemptAt for a retry, succeeded
	// or failed). It returns ErrLeaseLost if d is no longer delivering under
	// the lease the caller holds (d.LeaseExpiresAt as claimed).
	Complete(ctx context.Context, d *Delivery, a *Attempt) error
	// Release returns a delivery the caller holds to StatePending, due at
	// at, without recording an attempt: used when the dispatcher cannot send
	// it now (endpoint at its concurrency cap, shutting down).
	Release(ctx context.Context, d *Delivery, at time.Time) error
	// GetDelivery returns the delivery with id, or ErrNotFound.
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	// ListDeliveries returns the deliveries matching q, newest first, one
	// page at a time.
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, string, error)
	// ListAttempts returns the attempts of a delivery, oldest first.
	ListAttempts(ctx context.Context, deliveryID string) ([]*Attempt, error)
	// Redeliver moves a failed (or succeeded) delivery back to StatePending,
	// due at at, keeping its id, body and attempts. ErrNotFound if there is
	// none; an error if it is pending or delivering.
	Redeliver(ctx context.Context, id string, at time.Time) error
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
	WorkAvailable() <-chan struct{}
}
