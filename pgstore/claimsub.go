package pgstore

import (
	"slices"
	"sync"
	"time"

	"github.com/onplana/webhook"
)

// MaxClaimedSubscriptionAge bounds how old a subscription returned by
// ClaimedSubscription may be: how long a dispatcher may send a delivery
// with the URL and secrets its subscription had when the delivery was
// claimed, after another process changed them.
const MaxClaimedSubscriptionAge = 250 * time.Millisecond

// claimedSubs keeps the subscriptions that Claim read, in the statement
// that leased their deliveries, for the attempts that follow: a dispatcher
// would otherwise load the subscription of every delivery it sends, one
// round trip each, nearly always the same few.
type claimedSubs struct {
	mu sync.Mutex
	m  map[string]claimedSub
}

type claimedSub struct {
	sub *webhook.Subscription // never modified once stored
	// at is the now of the claim that read sub, on the caller's clock
	// (the UpdatedAt of the deliveries it leased); read is when, on this
	// process's monotonic clock.
	at, read time.Time
}

// put records sub as read by the claim at now. A claim made earlier does
// not replace a later one's.
func (c *claimedSubs) put(sub *webhook.Subscription, now, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSubCache {
		c.m = make(map[string]claimedSub)
	}
	if old, ok := c.m[sub.ID]; ok && old.at.After(now) {
		return
	}
	c.m[sub.ID] = claimedSub{sub: sub, at: now, read: read}
}

// forget drops id, after this Store changed or deleted it.
func (c *claimedSubs) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// ClaimedSubscription returns a copy of the subscription of d as Claim read
// it, in the statement that leased d or a later one, if that was at most
// MaxClaimedSubscriptionAge ago and the subscription was not changed
// through this Store since. Otherwise it returns false, and the caller
// loads it with GetSubscription. A Dispatcher uses it instead of
// GetSubscription before each attempt; it never touches the database and
// is safe for concurrent use.
//
// The answer is never older than the claim of d: Claim leases only
// deliveries of enabled subscriptions, so a subscription disabled before d
// was claimed is not returned enabled for it.
func (s *Store) ClaimedSubscription(d *webhook.Delivery) (*webhook.Subscription, bool) {
	if d == nil {
		return nil, false
	}
	c := &s.claimed
	c.mu.Lock()
	e, ok := c.m[d.SubscriptionID]
	c.mu.Unlock()
	if !ok || e.at.Before(d.UpdatedAt) || time.Since(e.read) > MaxClaimedSubscriptionAge {
		return nil, false
	}
	return cloneSubscription(e.sub), true
}

// maxSubCache bounds claimedSubs; past it, it starts over.
const maxSubCache = 10_000

// cloneSubscription returns a copy of s sharing no memory with it.
func cloneSubscription(s *webhook.Subscription) *webhook.Subscription {
	c := *s
	c.EventTypes = slices.Clone(s.EventTypes)
	c.Secrets = slices.Clone(s.Secrets)
	return &c
}
