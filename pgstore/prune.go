package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/onplana/webhook"
)

// DefaultPruneBatch is a batch size for Prune that keeps each DELETE short.
const DefaultPruneBatch = 1000

// Prune deletes the delivery log older than olderThan: succeeded and failed
// deliveries last updated before now-olderThan, with their attempts. Pending
// and delivering deliveries are never pruned. It finds them through the
// index on created_at (updated_at changes with every attempt; an indexed
// column would make those updates non-HOT), so a delivery enqueued with a
// CreatedAt later than its last update is pruned only once that CreatedAt
// is older than the cutoff too. Attempts have no foreign key: the statement
// deletes them with their delivery. It deletes at most batchSize
// deliveries per statement, each its own short transaction, so that it
// holds no long locks and bloats no single transaction, and it repeats
// until none is left or ctx ends. It returns how many deliveries it
// deleted, including when it stops on an error.
func (s *Store) Prune(ctx context.Context, olderThan time.Duration, batchSize int) (int64, error) {
	if olderThan <= 0 {
		return 0, &webhook.ValidationError{Field: "olderThan", Reason: "must be positive"}
	}
	cutoff := ts(s.now().Add(-olderThan))
	return pruneBatches(ctx, batchSize, func(ctx context.Context) (int64, error) {
		var n int64
		err := s.pool.QueryRow(ctx, `WITH pruned AS (
				DELETE FROM webhook_deliveries WHERE id IN (
					SELECT id FROM webhook_deliveries
					WHERE created_at < $1 AND updated_at < $1 AND state IN ('succeeded', 'failed')
					ORDER BY created_at
					LIMIT $2
					FOR UPDATE SKIP LOCKED)
				RETURNING id
			), attempts AS (
				DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM pruned)
			)
			SELECT count(*) FROM pruned`, cutoff, batchSize).Scan(&n)
		return n, err
	})
}

// pruneBatches runs batch until it deletes fewer than batchSize rows.
func pruneBatches(ctx context.Context, batchSize int, batch func(context.Context) (int64, error)) (int64, error) {
	if batchSize <= 0 {
		return 0, &webhook.ValidationError{Field: "batchSize", Reason: "must be positive"}
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := batch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("pgstore: prune: %w", err)
		}
		if n < int64(batchSize) {
			return total, nil
		}
	}
}
