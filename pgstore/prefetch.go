package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/onplana/webhook"
)

// prefetched holds deliveries leased by one claim statement for the Claims
// that follow (Config.ClaimPrefetch).
type prefetched struct {
	mu    sync.Mutex
	items []*webhook.Delivery
	at    time.Time     // the now of the claim that leased them
	lease time.Duration // its lease
}

// claimPrefetched serves Claim from the prefetched deliveries while they are
// due at now (leased at or before now, at most MaxPrefetchAge ago, with the
// same lease), and refills them with one claim of s.prefetch deliveries.
func (s *Store) claimPrefetched(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*webhook.Delivery, error) {
	s.pf.mu.Lock()
	defer s.pf.mu.Unlock()
	fresh := lease == s.pf.lease && !now.Before(s.pf.at) && now.Sub(s.pf.at) <= MaxPrefetchAge
	if len(s.pf.items) > 0 && !fresh {
		if err := s.releasePrefetchedLocked(ctx); err != nil {
			return nil, err
		}
	}
	if len(s.pf.items) == 0 {
		got, err := s.claim(ctx, now, s.prefetch, lease)
		if err != nil {
			return nil, err
		}
		s.pf.items, s.pf.at, s.pf.lease = got, now, lease
	}
	n := min(limit, len(s.pf.items))
	out := s.pf.items[:n:n]
	s.pf.items = s.pf.items[n:]
	return out, nil
}

// dropPrefetched returns the prefetched deliveries to pending.
func (s *Store) dropPrefetched(ctx context.Context) error {
	s.pf.mu.Lock()
	defer s.pf.mu.Unlock()
	return s.releasePrefetchedLocked(ctx)
}

// releasePrefetchedLocked returns the prefetched deliveries to pending, due
// when they were, in one statement guarded by their lease.
func (s *Store) releasePrefetchedLocked(ctx context.Context) error {
	if len(s.pf.items) == 0 {
		return nil
	}
	ids := make([]string, len(s.pf.items))
	for i, d := range s.pf.items {
		ids[i] = d.ID
	}
	lease := ts(s.pf.items[0].LeaseExpiresAt)
	err := retryLost(ctx, func() error {
		_, err := s.pool.Exec(ctx, `WITH queued AS (
				UPDATE webhook_queue q SET due_at = d.next_attempt_at, lease_expires_at = NULL, claimed_at = NULL
				FROM webhook_deliveries d
				WHERE q.delivery_id = ANY($1) AND q.lease_expires_at = $2 AND d.id = q.delivery_id
				RETURNING 1
			)
			SELECT pg_notify($3, '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_row`, ids, lease, s.channel)
		return err
	})
	s.pf.items = nil
	if err != nil {
		return dbErr("release prefetched", err)
	}
	s.signal()
	return nil
}
