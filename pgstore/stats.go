package pgstore

import (
	"context"
	"time"

	"github.com/onplana/webhook"
)

var _ webhook.QueueStatsStore = (*Store)(nil)

// QueueStats implements webhook.QueueStatsStore with one statement over the
// queue table, which holds a row per delivery pending or delivering and
// nothing of the delivery log: its cost grows with the backlog, a few
// milliseconds per hundred thousand rows. The oldest delivery is the one
// with the smallest id (ids sort by creation time), found through the
// queue's primary key; only its row of the delivery log is read.
func (s *Store) QueueStats(ctx context.Context) (webhook.QueueStats, error) {
	var (
		st           webhook.QueueStats
		oldest, next *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE lease_expires_at IS NULL AND NOT held),
			count(*) FILTER (WHERE lease_expires_at IS NOT NULL),
			count(*) FILTER (WHERE lease_expires_at IS NULL AND held),
			min(due_at) FILTER (WHERE lease_expires_at IS NULL AND NOT held),
			(SELECT d.created_at FROM webhook_deliveries d WHERE d.id = (
				SELECT min(o.delivery_id) FROM webhook_queue o
				WHERE NOT o.held OR o.lease_expires_at IS NOT NULL))
		FROM webhook_queue`).Scan(&st.Pending, &st.Delivering, &st.Held, &next, &oldest)
	if err != nil {
		return webhook.QueueStats{}, dbErr("queue stats", err)
	}
	st.OldestCreatedAt, st.NextDueAt = fromNull(oldest), fromNull(next)
	return st, nil
}
