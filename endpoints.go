package webhook

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Per-endpoint queues. The deliveries a Dispatcher has claimed wait in
// memory in one FIFO per endpoint (host and port), and the workers take
// them endpoint by endpoint, in turn, from the endpoints that have a
// delivery waiting and fewer than Config.MaxPerEndpoint attempts in
// flight. So a backlog to one endpoint keeps its slots busy without going
// back to the store, while a slow endpoint occupies at most its own slots.
//
// What waits in memory is bounded twice: in all, by Config.Workers times
// waitingPerWorker, and per endpoint, by what it has shown it can take
// (see saturated). An endpoint at its bound is saturated: the claims skip
// its subscriptions (Store.Claim's skip), so what is due after its backlog
// is claimed instead, and none of its deliveries is claimed only to be
// given back.

const (
	// waitingPerWorker times Config.Workers bounds the deliveries waiting
	// in the endpoint queues: enough that the workers never wait for a
	// claim's round trip, few enough to wait well inside their lease.
	waitingPerWorker = 8
	// holdFor is how long a delivery may expect to wait for its endpoint,
	// a part of the lease's margin over the attempt timeout.
	holdFor = leaseMargin / 2
	// maxEndpointKeys bounds the cache of parsed URLs; past it the cache
	// starts over.
	maxEndpointKeys = 4096
)

// endpointQueues holds the claimed deliveries that wait for a slot of
// their endpoint, and hands them to the workers. It is safe for
// concurrent use.
type endpointQueues struct {
	maxPer     int // Config.MaxPerEndpoint
	maxWaiting int // bound of waiting
	batch      int // the claim size worth a round trip (see room)

	mu      sync.Mutex
	turnCh  sync.Cond                 // on mu: an endpoint joined turn, or closed
	byKey   map[string]*endpointQueue // endpoints with deliveries waiting or in flight
	turn    []*endpointQueue          // endpoints with a delivery waiting and a free slot, in turn
	waiting int                       // deliveries waiting, across endpoints
	closed  bool
	urls    map[string]endpoint // by endpoint URL, parsed once
}

// endpointQueue is one endpoint's FIFO and slots. Guarded by the
// endpointQueues' mu.
type endpointQueue struct {
	key      string
	waiting  fifo[held] // oldest claimed first
	inflight int
	inTurn   bool
	latency  time.Duration  // moving average of attempt durations; 0 until one ends
	finished int            // attempts ended since the endpoint had work
	subs     map[string]int // deliveries waiting or in flight, by subscription
	freed    chan struct{}  // closed when a slot frees, for acquire; nil when none waits
}

func newEndpointQueues(workers, maxPerEndpoint int) *endpointQueues {
	maxWaiting := workers * waitingPerWorker
	q := &endpointQueues{
		maxPer:     maxPerEndpoint,
		maxWaiting: maxWaiting,
		batch:      max(1, min(maxClaimBatch, maxWaiting/4)),
		byKey:      make(map[string]*endpointQueue),
	}
	q.turnCh.L = &q.mu
	return q
}

// room returns how many deliveries the next claim may take, 0 when too few
// to be worth a claim, and the subscriptions it must skip: those of the
// saturated endpoints.
func (qs *endpointQueues) room() (limit int, skip []string) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	free := qs.maxWaiting - qs.waiting
	if qs.closed || free < qs.batch {
		return 0, nil
	}
	for _, q := range qs.byKey {
		if qs.saturated(q) {
			for id := range q.subs {
				skip = append(skip, id)
			}
		}
	}
	return min(free, maxClaimBatch), skip
}

// saturated reports whether q holds as many waiting deliveries as it may:
// as many as its slots can send in holdFor at its latency, and no more
// than two rounds of its slots plus the attempts it has finished, so that
// an endpoint earns its share of the queues as it answers (a fast ping
// says little of how fast the events will be), and at most half of the
// queues, so that others always find room.
func (qs *endpointQueues) saturated(q *endpointQueue) bool {
	limit := 2*qs.maxPer + q.finished
	if q.latency > 0 {
		limit = min(limit, qs.maxPer*int(min(holdFor/q.latency, time.Duration(qs.maxWaiting))))
	}
	return q.waiting.len() >= min(max(limit, qs.maxPer), qs.maxWaiting/2)
}

// add queues claimed deliveries behind the others of their endpoint.
func (qs *endpointQueues) add(batch []held) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for _, h := range batch {
		// A store that broke Claim's contract and returned no subscription:
		// the worker reads it, and its deliveries share their own slots.
		key := "subscription " + h.Delivery.SubscriptionID
		if h.Subscription != nil {
			h.ep = qs.lookupLocked(h.Subscription.URL)
			key = h.ep.key
		}
		q := qs.queue(key)
		q.waiting.push(h)
		q.subs[h.Delivery.SubscriptionID]++
		qs.waiting++
		qs.offer(q)
	}
}

// queue returns the queue of the endpoint key, made if it has none. The
// caller holds mu.
func (qs *endpointQueues) queue(key string) *endpointQueue {
	q := qs.byKey[key]
	if q == nil {
		q = &endpointQueue{key: key, subs: make(map[string]int, 1)}
		qs.byKey[key] = q
	}
	return q
}

// acquire takes a slot of the endpoint key for an attempt made outside the
// queues (a Ping), waiting while all its slots are taken, until ctx ends.
// Release it with done.
func (qs *endpointQueues) acquire(ctx context.Context, key string) (*endpointQueue, error) {
	for {
		qs.mu.Lock()
		q := qs.queue(key)
		if q.inflight < qs.maxPer {
			q.inflight++
			qs.mu.Unlock()
			return q, nil
		}
		if q.freed == nil {
			q.freed = make(chan struct{})
		}
		freed := q.freed
		qs.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// offer puts q in turn if it has a delivery waiting and a free slot.
func (qs *endpointQueues) offer(q *endpointQueue) {
	if !q.inTurn && q.waiting.len() > 0 && q.inflight < qs.maxPer {
		q.inTurn = true
		qs.turn = append(qs.turn, q)
		qs.turnCh.Signal()
	}
}

// next waits for a delivery whose endpoint has a free slot, takes the slot
// and returns the delivery with its queue; ok is false once the queues are
// closed. refill reports that the claims have room again: the waiting
// deliveries fell to where a claim is worth it, or the endpoint is no
// longer saturated.
func (qs *endpointQueues) next() (h held, q *endpointQueue, refill, ok bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for {
		for len(qs.turn) == 0 && !qs.closed {
			qs.turnCh.Wait()
		}
		if qs.closed {
			return held{}, nil, false, false
		}
		q = qs.turn[0]
		qs.turn[0] = nil
		qs.turn = qs.turn[1:]
		q.inTurn = false
		if q.inflight < qs.maxPer {
			break
		}
		// A Ping took the slot it was offered for; done offers it again.
	}
	wasSaturated := qs.saturated(q)
	h = q.waiting.pop()
	qs.waiting--
	q.inflight++
	qs.offer(q) // behind the other endpoints: round robin
	refill = qs.waiting == qs.maxWaiting-qs.batch || wasSaturated && !qs.saturated(q)
	return h, q, refill, true
}

// done frees the slot next took for a delivery of subscriptionID (or
// acquire, with an empty subscriptionID), folding the attempt's duration
// (0 when none was made) into the endpoint's latency. It reports whether
// the endpoint stopped being saturated.
func (qs *endpointQueues) done(q *endpointQueue, subscriptionID string, took time.Duration) (refill bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	wasSaturated := qs.saturated(q)
	q.inflight--
	if q.freed != nil {
		close(q.freed)
		q.freed = nil
	}
	if n := q.subs[subscriptionID] - 1; n > 0 {
		q.subs[subscriptionID] = n
	} else if subscriptionID != "" {
		delete(q.subs, subscriptionID)
	}
	switch {
	case took <= 0:
	case q.latency == 0:
		q.latency, q.finished = took, 1
	default:
		q.latency += (took - q.latency) / 4
		q.finished++
	}
	if q.inflight == 0 && q.waiting.len() == 0 {
		delete(qs.byKey, q.key) // forget idle endpoints: the map stays small
		return false
	}
	qs.offer(q)
	return wasSaturated && !qs.saturated(q)
}

// close wakes the workers waiting in next, which then return, and returns
// the deliveries still waiting, for the caller to give back to the store.
func (qs *endpointQueues) close() []held {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	qs.closed = true
	qs.turnCh.Broadcast()
	var left []held
	for _, q := range qs.byKey {
		for q.waiting.len() > 0 {
			left = append(left, q.waiting.pop())
		}
	}
	qs.waiting = 0
	return left
}

// lookup returns the endpoint of URL raw, parsing each URL once rather than
// on every attempt.
func (qs *endpointQueues) lookup(raw string) endpoint {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.lookupLocked(raw)
}

func (qs *endpointQueues) lookupLocked(raw string) endpoint {
	if ep, ok := qs.urls[raw]; ok {
		return ep
	}
	if qs.urls == nil || len(qs.urls) >= maxEndpointKeys {
		qs.urls = make(map[string]endpoint)
	}
	ep := endpoint{key: raw}
	if u, err := url.Parse(raw); err == nil {
		u.Host = strings.TrimSuffix(u.Host, ":") // as NewRequest: "host:" has an empty port
		ep = endpoint{key: endpointKey(u), url: u}
	}
	qs.urls[raw] = ep
	return ep
}

// endpoint is an endpoint URL as parsed once: its concurrency key and the
// URL its requests are sent to.
type endpoint struct {
	key string
	url *url.URL // nil when the URL does not parse; never modified
}

// endpointKey is the per-endpoint concurrency key of an endpoint URL: its
// lower-cased host and port.
func endpointKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = u.Scheme
	}
	return net.JoinHostPort(host, port)
}
