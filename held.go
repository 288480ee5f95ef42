package webhook

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxHeldAge is how long a claimed delivery may wait for its attempt and
// still be sent with the subscription its claim returned; past it, the
// worker reads the subscription again. Claim returns the subscription with
// the delivery, saving a store round trip per attempt in the steady state,
// but deliveries claimed ahead wait while the workers send the ones before
// them (milliseconds when endpoints answer fast, longer when they do not),
// and meanwhile another process, or the host through the store, may change
// or delete the subscription.
const maxHeldAge = 250 * time.Millisecond

// held is a delivery this Dispatcher has claimed and not yet attempted:
// what the store's Claim returned, and when the claim began.
type held struct {
	Claimed
	at time.Time // monotonic
}

// hold stamps a batch claimed by a Claim that began at at. It drops (and
// logs) entries without a delivery, which a Store must not return and
// which nothing could release.
func (d *Dispatcher) hold(batch []Claimed, at time.Time) []held {
	out := make([]held, 0, len(batch))
	for _, c := range batch {
		if c.Delivery == nil {
			d.log.Error("webhook: store claimed an entry without a delivery; ignored")
			continue
		}
		out = append(out, held{c, at})
	}
	return out
}

// subscription returns the subscription h is to be sent with: the one its
// claim returned, unless that one may be out of date (the claim is older
// than maxHeldAge, this Dispatcher changed the subscription since the claim
// began, or the store returned none), in which case it is read again.
func (d *Dispatcher) subscription(h held) (sub *Subscription, reread bool) {
	sub = h.Subscription
	if sub == nil || sub.ID != h.Delivery.SubscriptionID ||
		time.Since(h.at) > maxHeldAge || d.changes.since(sub.ID, h.at) {
		return nil, true
	}
	return sub, false
}

// subscriptionChanges remembers when this Dispatcher last changed each
// subscription (an update, a health change, a rotation, a deletion), so that
// a delivery claimed before the change is not sent with the subscription as
// it was. Entries older than maxHeldAge no longer matter and are dropped.
// It is safe for concurrent use; since costs one atomic load when nothing
// changed recently.
type subscriptionChanges struct {
	base time.Time    // monotonic origin of latest
	last atomic.Int64 // time since base of the latest change, in ns

	mu sync.Mutex
	at map[string]time.Time
}

// maxTrackedChanges is the size past which record drops old entries.
const maxTrackedChanges = 1024

func newSubscriptionChanges() *subscriptionChanges {
	return &subscriptionChanges{base: time.Now(), at: make(map[string]time.Time)}
}

// record notes that subscription id changed now: call it once the change
// is in the store.
func (c *subscriptionChanges) record(id string) {
	now := time.Now()
	c.mu.Lock()
	if len(c.at) >= maxTrackedChanges {
		for k, t := range c.at {
			if now.Sub(t) > maxHeldAge {
				delete(c.at, k)
			}
		}
	}
	c.at[id] = now
	c.mu.Unlock()
	c.last.Store(int64(now.Sub(c.base)))
}

// since reports whether subscription id changed at or after t, for a t at
// most maxHeldAge ago.
func (c *subscriptionChanges) since(id string, t time.Time) bool {
	if time.Duration(c.last.Load()) < t.Sub(c.base) {
		return false
	}
	c.mu.Lock()
	changed, ok := c.at[id]
	c.mu.Unlock()
	return ok && !changed.Before(t)
}
