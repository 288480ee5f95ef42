package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/onplana/webhook"
)

var _ webhook.QueueStatsStore = (*Store)(nil)

// QueueStats implements webhook.QueueStatsStore in one read transaction.
// The deliveries that can be claimed are counted through the partial index
// Claim uses, which holds them alone; the held ones through the deliveries
// of the disabled subscriptions. Neither reads the rest of the delivery
// log.
func (s *Store) QueueStats(ctx context.Context) (webhook.QueueStats, error) {
	var st webhook.QueueStats
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, dbErr("queue stats", err)
	}
	defer tx.Rollback()
	var oldest, next, heldOldest sql.NullInt64
	var heldDelivering int64
	err = tx.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE state = 'pending'),
			count(*) FILTER (WHERE state = 'delivering'),
			min(created_at),
			min(next_attempt_at) FILTER (WHERE state = 'pending')
		FROM deliveries
		WHERE state IN ('pending', 'delivering') AND held = 0`).Scan(&st.Pending, &st.Delivering, &oldest, &next)
	if err == nil {
		// A subscription disabled while one of its deliveries was being
		// attempted holds that one too: it is still delivering.
		err = tx.QueryRowContext(ctx, `SELECT
				count(*) FILTER (WHERE state = 'pending'),
				count(*) FILTER (WHERE state = 'delivering'),
				min(created_at) FILTER (WHERE state = 'delivering')
			FROM deliveries
			WHERE subscription_id IN (SELECT id FROM subscriptions WHERE disabled)
			  AND state IN ('pending', 'delivering') AND held = 1`).Scan(&st.Held, &heldDelivering, &heldOldest)
	}
	if err != nil {
		return webhook.QueueStats{}, dbErr("queue stats", err)
	}
	st.Delivering += heldDelivering
	if heldOldest.Valid && (!oldest.Valid || heldOldest.Int64 < oldest.Int64) {
		oldest = heldOldest
	}
	st.OldestCreatedAt, st.NextDueAt = dec(oldest.Int64), dec(next.Int64)
	return st, nil
}
