package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/onplana/webhook"
)

// Prune deletes the delivery log older than olderThan: succeeded and failed
// deliveries last updated before now-olderThan, with their attempts.
// Pending and delivering deliveries are never pruned. It deletes at most
// batchSize deliveries per transaction, so that the single writer is never
// held for long, and repeats until none is left or ctx ends. It returns how
// many deliveries it deleted, including when it stops on an error.
func (s *Store) Prune(ctx context.Context, olderThan time.Duration, batchSize int) (int64, error) {
	if olderThan <= 0 {
		return 0, &webhook.ValidationError{Field: "olderThan", Reason: "must be positive"}
	}
	if batchSize <= 0 {
		return 0, &webhook.ValidationError{Field: "batchSize", Reason: "must be positive"}
	}
	cutoff := enc(s.now().Add(-olderThan))
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.w.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN (
				SELECT id FROM deliveries
				WHERE state IN ('succeeded', 'failed') AND updated_at < ?
				ORDER BY updated_at LIMIT ?)`, cutoff, batchSize)
		if err != nil {
			return total, fmt.Errorf("sqlitestore: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < int64(batchSize) {
			return total, nil
		}
	}
}
