package webhook

import (
	"time"

	"github.com/onplana/webhook/keyring"
)

// EventTypes exposes the ordered list of types to the external tests.
var EventTypes = eventTypes

// Unexported functions the external tests call.
var (
	ValidateEventTypes = validateEventTypes
	MatchesEventType   = matchesEventType
)

// RetryInterval is the delay before retry number attempt of r, without
// jitter.
func RetryInterval(r ExponentialRetry, attempt int) time.Duration { return r.interval(attempt) }

// DedupeLen returns the number of keys s holds.
func DedupeLen(s *MemoryDedupeStore) int { return s.len() }

// ReopenMemoryStore gives s the key ring keys, as reopening a durable
// store's data with another key ring does, so that storetest.RunEncryption
// can check a MemoryStore over data sealed under other keys.
func ReopenMemoryStore(s *MemoryStore, keys *keyring.Ring) *MemoryStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
	return s
}

// DumpMemoryStore returns every byte the store holds of its subscriptions
// (secrets as kept, in clear or sealed) and deliveries, as a database dump
// would, for the tests that search it for secrets.
func DumpMemoryStore(s *MemoryStore) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []byte
	for _, ms := range s.subs {
		out = append(out, ms.sub.ID...)
		for _, sec := range ms.sub.Secrets {
			out = append(out, sec.Secret...)
		}
		out = append(out, ms.keyID...)
		out = append(out, ms.sealed...)
	}
	for _, md := range s.deliveries {
		out = append(out, md.d.Body...)
		for _, a := range md.attempts {
			out = append(out, a.Error...)
			out = append(out, a.ResponseSnippet...)
		}
	}
	return out
}

// RaceEnabled reports whether the race detector is on: sync.Pool then
// drops items at random, and allocation counts mean little.
func RaceEnabled() bool { return signRaceEnabled }
