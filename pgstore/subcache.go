package pgstore

import (
	"slices"
	"sync"
	"time"

	"github.com/onplana/webhook"
)

// subCache keeps subscriptions read by GetSubscription for a short time
// (Config.SubscriptionCacheTTL): a dispatcher loads the subscription of
// every delivery it sends, nearly always the same few.
type subCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]subCacheEntry
}

type subCacheEntry struct {
	sub     webhook.Subscription
	expires time.Time
}

// maxSubCache bounds the cache; past it, the cache starts over.
const maxSubCache = 10_000

func (c *subCache) get(id string, now time.Time) (*webhook.Subscription, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return cloneSubscription(&e.sub), true
}

func (c *subCache) put(sub *webhook.Subscription, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSubCache {
		c.m = make(map[string]subCacheEntry)
	}
	c.m[sub.ID] = subCacheEntry{sub: *cloneSubscription(sub), expires: now.Add(c.ttl)}
}

// forget drops id, after this Store changed or deleted it.
func (c *subCache) forget(id string) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func cloneSubscription(s *webhook.Subscription) *webhook.Subscription {
	c := *s
	c.EventTypes = slices.Clone(s.EventTypes)
	c.Secrets = slices.Clone(s.Secrets)
	return &c
}
