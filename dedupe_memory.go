package webhook

import (
	"context"
	"sync"
	"time"
)

// DefaultDedupeMaxEntries is the capacity NewMemoryDedupeStore uses when
// given zero or less.
const DefaultDedupeMaxEntries = 100_000

// MemoryDedupeStore is a DedupeStore in the memory of one process, bounded
// to a number of entries. When full, the least recently changed entry is
// forgotten first, so a duplicate of it would be processed again: size it
// for the deliveries of one TTL (each entry costs about 150 bytes plus its
// key). Its contents are lost on restart; use a shared store such as pgstore
// when several processes receive or deduplication must survive restarts.
// It is safe for concurrent use.
type MemoryDedupeStore struct {
	mu      sync.Mutex
	max     int
	entries map[string]*dedupeEntry
	// Entries form a list in order of their last change, oldest at head.
	// Entries of one state share one lifetime in practice (a lease or a
	// TTL), so the head is about the first to expire: pruning from it costs
	// constant time per expired entry, and eviction takes it when full. An
	// expired entry behind an unexpired one waits for eviction or for its
	// key to be claimed again, which treats it as absent.
	head, tail *dedupeEntry
	now        func() time.Time
}

type dedupeEntry struct {
	key        string
	owner      string // of an in-flight claim
	done       bool
	expires    time.Time
	prev, next *dedupeEntry
}

var _ DedupeStore = (*MemoryDedupeStore)(nil)

// NewMemoryDedupeStore returns an empty MemoryDedupeStore holding at most
// maxEntries keys (DefaultDedupeMaxEntries if maxEntries <= 0).
func NewMemoryDedupeStore(maxEntries int) *MemoryDedupeStore {
	if maxEntries <= 0 {
		maxEntries = DefaultDedupeMaxEntries
	}
	return &MemoryDedupeStore{max: maxEntries, entries: make(map[string]*dedupeEntry), now: monotonicNow()}
}

// monotonicNow returns a clock for expiries, which only compare times
// taken from it: time.Now less its wall clock reading, the current time as
// the monotonic clock tells it since the clock was made. It reads one
// clock where time.Now reads two, and a change of the wall clock does not
// move expiries.
func monotonicNow() func() time.Time {
	epoch := time.Now()
	return func() time.Time { return epoch.Add(time.Since(epoch)) }
}

// Claim implements DedupeStore.
func (s *MemoryDedupeStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (ClaimResult, error) {
	if err := checkDedupeArgs(ctx, key, lease, "lease"); err != nil {
		return 0, err
	}
	if owner == "" {
		return 0, &ValidationError{Field: "owner", Reason: "is empty"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now)
	if e, ok := s.entries[key]; ok {
		if now.Before(e.expires) {
			if e.done {
				return ClaimDone, nil
			}
			return ClaimInFlight, nil
		}
		s.remove(e)
	}
	e := s.evict()
	*e = dedupeEntry{key: key, owner: owner, expires: now.Add(lease)}
	s.entries[key] = e
	s.append(e)
	return ClaimAcquired, nil
}

// evict makes room for one more entry, and returns the struct of the last
// entry it removed for reuse, or a new one.
func (s *MemoryDedupeStore) evict() *dedupeEntry {
	var free *dedupeEntry
	for len(s.entries) >= s.max {
		free = s.head
		s.remove(free)
	}
	if free == nil {
		free = new(dedupeEntry)
	}
	return free
}

// Done implements DedupeStore. Marking an unknown key done records it.
func (s *MemoryDedupeStore) Done(ctx context.Context, key string, ttl time.Duration) error {
	if err := checkDedupeArgs(ctx, key, ttl, "ttl"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.entries[key]
	if ok && e.done && now.Before(e.expires) {
		return nil // done already
	}
	if ok {
		// Most often the caller's own claim: it becomes the done mark in
		// place, moved to the tail of the list.
		s.unlink(e)
		*e = dedupeEntry{key: e.key, done: true, expires: now.Add(ttl)}
	} else {
		e = s.evict()
		*e = dedupeEntry{key: key, done: true, expires: now.Add(ttl)}
		s.entries[key] = e
	}
	s.append(e)
	return nil
}

// Release implements DedupeStore.
func (s *MemoryDedupeStore) Release(ctx context.Context, key, owner string) error {
	if err := checkDedupeArgs(ctx, key, time.Second, ""); err != nil {
		return err
	}
	if owner == "" {
		return &ValidationError{Field: "owner", Reason: "is empty"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && !e.done && e.owner == owner {
		s.remove(e)
	}
	return nil
}

// len returns the number of keys held, expired ones included until they
// are pruned.
func (s *MemoryDedupeStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// checkDedupeArgs refuses what no caller should pass, with the same
// errors as pgstore's DedupeStore, and a context already done.
func checkDedupeArgs(ctx context.Context, key string, d time.Duration, field string) error {
	if key == "" {
		return &ValidationError{Field: "key", Reason: "is empty"}
	}
	if d <= 0 {
		return &ValidationError{Field: field, Reason: "must be positive"}
	}
	return ctx.Err()
}

// prune drops expired entries from the head of the list.
func (s *MemoryDedupeStore) prune(now time.Time) {
	for s.head != nil && !now.Before(s.head.expires) {
		s.remove(s.head)
	}
}

func (s *MemoryDedupeStore) append(e *dedupeEntry) {
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
}

// remove forgets e.
func (s *MemoryDedupeStore) remove(e *dedupeEntry) {
	s.unlink(e)
	delete(s.entries, e.key)
}

// unlink takes e out of the list, leaving it in the map.
func (s *MemoryDedupeStore) unlink(e *dedupeEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
