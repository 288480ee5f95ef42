package webhook

import (
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Per-endpoint concurrency. A delivery whose endpoint already has
// MaxPerEndpoint attempts in flight is not held by a worker (that would
// let one slow endpoint occupy every worker); it goes back to the store,
// due when a slot is expected to be free. The expectation is a virtual
// queue per endpoint: each turned-away delivery is scheduled one
// "slot interval" (the endpoint's typical latency divided by its cap)
// after the previous one. So a backlog for a slow endpoint spreads out
// instead of being claimed and released again and again, while a fast
// endpoint's backlog comes back within milliseconds.

// Bounds of the slot interval.
const (
	minSlotInterval = 5 * time.Millisecond
	maxSlotInterval = time.Minute
	// initialLatency is assumed for an endpoint with no finished attempt.
	initialLatency = 200 * time.Millisecond
	// maxEndpointKeys bounds the limiter's cache of parsed URLs; past it
	// the cache starts over.
	maxEndpointKeys = 4096
)

// endpointLimiter tracks attempts in flight per endpoint. It is safe for
// concurrent use.
type endpointLimiter struct {
	max   int
	mu    sync.Mutex
	hosts map[string]*endpointState
	keys  map[string]endpoint // by endpoint URL, parsed once
}

// endpointState is what the limiter knows of one endpoint.
type endpointState struct {
	inflight int
	latency  time.Duration // moving average of attempt durations
	nextSlot time.Time     // end of the virtual queue of turned-away deliveries
}

// acquire takes a slot for host at now. When the endpoint is at its cap it
// returns false and when the delivery should come back.
func (l *endpointLimiter) acquire(host string, now time.Time) (ok bool, retryAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.hosts[host]
	if st == nil {
		st = &endpointState{latency: initialLatency}
		l.hosts[host] = st
	}
	if st.inflight < l.max {
		st.inflight++
		return true, time.Time{}
	}
	step := min(max(st.latency/time.Duration(l.max), minSlotInterval), maxSlotInterval)
	st.nextSlot = later(st.nextSlot, now).Add(step)
	return false, st.nextSlot
}

// done frees the slot taken by acquire and folds the attempt's duration
// into the endpoint's latency.
func (l *endpointLimiter) done(host string, took time.Duration, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.hosts[host]
	if st == nil {
		return
	}
	st.inflight--
	st.latency += (took - st.latency) / 4
	if st.inflight <= 0 && !st.nextSlot.After(now) {
		delete(l.hosts, host) // forget idle endpoints: the map stays small
	}
}

// lookup returns the endpoint of URL raw, parsing each URL once rather than
// on every attempt.
func (l *endpointLimiter) lookup(raw string) endpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ep, ok := l.keys[raw]; ok {
		return ep
	}
	if l.keys == nil || len(l.keys) >= maxEndpointKeys {
		l.keys = make(map[string]endpoint)
	}
	ep := endpoint{key: raw}
	if u, err := url.Parse(raw); err == nil {
		u.Host = strings.TrimSuffix(u.Host, ":") // as NewRequest: "host:" has an empty port
		ep = endpoint{key: endpointKey(u), url: u}
	}
	l.keys[raw] = ep
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
