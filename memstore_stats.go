package webhook

import "context"

var _ QueueStatsStore = (*MemoryStore)(nil)

// QueueStats implements QueueStatsStore. It walks the pending and leased
// deliveries under the store's read lock: a few milliseconds for a hundred
// thousand of them.
func (s *MemoryStore) QueueStats(ctx context.Context) (QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return QueueStats{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st QueueStats
	oldest := func(d *Delivery) {
		if st.OldestCreatedAt.IsZero() || d.CreatedAt.Before(st.OldestCreatedAt) {
			st.OldestCreatedAt = d.CreatedAt
		}
	}
	pending := func(md *memDelivery) {
		d := &md.d
		if ms := s.subs[d.SubscriptionID]; ms == nil || ms.sub.Disabled {
			// Claim parks it, or drops it, when it comes due.
			st.Held++
			return
		}
		st.Pending++
		oldest(d)
		if st.NextDueAt.IsZero() || d.NextAttemptAt.Before(st.NextDueAt) {
			st.NextDueAt = d.NextAttemptAt
		}
	}
	q := &s.queue
	for _, e := range q.ready.all() {
		if e.md.heapIdx == inReady { // not removed
			pending(e.md)
		}
	}
	for _, e := range q.later {
		pending(e.md)
	}
	for _, e := range s.leased {
		st.Delivering++
		oldest(&e.md.d)
	}
	for _, ms := range s.subs {
		st.Held += int64(len(ms.parked))
	}
	return st, nil
}
