package webhook

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxHeldAge is how long after its claim a delivery may still be sent with
// the subscription the claim returned; past it, the worker reads the
// subscription again. Claim returns the subscription with the delivery,
// saving a store round trip per attempt in the steady state, but claimed
// deliveries wait in their endpoint's queue while the workers send the
// ones before them (milliseconds when endpoints answer fast, longer when
// they do not), and meanwhile another process, or the host through the
// store, may change or delete the subscription.
const maxHeldAge = 250 * time.Millisecond

// held is a delivery this Dispatcher has claimed and not yet attempted:
// what the store's Claim returned, when that claim began (changes made
// since may be missing from its subscription) and when it returned (the
// age maxHeldAge bounds), both monotonic, and the endpoint of the claimed
// subscription's URL, parsed when the delivery joined its queue.
type held struct {
	Claimed
	began, returned time.Time
	ep              endpoint
}

// hold stamps a batch claimed by a Claim that began at began. It drops (and
// logs) entries without a delivery, which a Store must not return and
// which nothing could release.
func (d *Dispatcher) hold(batch []Claimed, began time.Time) []held {
	returned := time.Now()
	out := make([]held, 0, len(batch))
	for _, c := range batch {
		if c.Delivery == nil {
			d.log.Error("webhook: store claimed an entry without a delivery; ignored")
			continue
		}
		out = append(out, held{Claimed: c, began: began, returned: returned})
	}
	return out
}

// subscription returns the subscription h is to be sent with: the one its
// claim returned, unless that one may be out of date (the claim returned
// more than maxHeldAge ago, this Dispatcher changed the subscription since
// the claim began, or the store returned none), in which case it returns
// nil and the caller reads the subscription again.
func (d *Dispatcher) subscription(h held) *Subscription {
	sub := h.Subscription
	if sub == nil || sub.ID != h.Delivery.SubscriptionID ||
		time.Since(h.returned) > maxHeldAge || d.changes.since(sub.ID, h.began) {
		return nil
	}
	return sub
}

// subscriptionChanges remembers when this Dispatcher last changed each
// subscription (an update, a health change, a rotation, a deletion), so that
// a delivery claimed before the change is not sent with the subscription as
// it was. A change is kept for twice maxHeldAge: a delivery whose claim is
// older is read again anyway. It is safe for concurrent use; since costs
// one lock-free load when nothing changed recently.
type subscriptionChanges struct {
	base time.Time // monotonic origin of latest

	mu     sync.Mutex
	at     map[string]time.Time // the last change of each subscription
	order  []change             // the changes in at, oldest first (some superseded)
	latest atomic.Int64         // time since base of the last change, in ns
}

// change is one entry of subscriptionChanges.order.
type change struct {
	id string
	at time.Time
}

// keepChanges is how long subscriptionChanges keeps a change.
const keepChanges = 2 * maxHeldAge

func newSubscriptionChanges() *subscriptionChanges {
	return &subscriptionChanges{base: time.Now(), at: make(map[string]time.Time)}
}

// record notes that subscription id changed now: call it once the change
// is in the store.
func (c *subscriptionChanges) record(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	// Forget the changes no delivery can still be waiting on: amortised
	// O(1), each change popped once.
	n := 0
	for n < len(c.order) && now.Sub(c.order[n].at) > keepChanges {
		if old := c.order[n]; c.at[old.id].Equal(old.at) {
			delete(c.at, old.id)
		}
		n++
	}
	c.order = append(c.order[n:], change{id, now})
	c.at[id] = now
	c.latest.Store(int64(now.Sub(c.base)))
}

// since reports whether subscription id changed at or after t, for a t at
// most keepChanges ago.
func (c *subscriptionChanges) since(id string, t time.Time) bool {
	if time.Duration(c.latest.Load()) < t.Sub(c.base) {
		return false
	}
	c.mu.Lock()
	changed, ok := c.at[id]
	c.mu.Unlock()
	return ok && !changed.Before(t)
}
