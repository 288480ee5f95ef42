package webhook

import (
	"context"
	"time"
)

// QueueStats is a snapshot of a store's delivery queue: what a dashboard
// of the sending side watches.
type QueueStats struct {
	// Pending counts the deliveries waiting for an attempt, due now or
	// later (a retry), except those Held.
	Pending int64
	// Delivering counts the deliveries leased to a Dispatcher, including
	// leases that expired and are not yet claimed again.
	Delivering int64
	// Held counts the pending deliveries of disabled subscriptions: they
	// wait, not claimed, until their subscription is enabled again.
	Held int64
	// OldestCreatedAt is the CreatedAt of the oldest delivery pending or
	// delivering, Held ones apart: how long the longest wait has lasted.
	// Zero when there is none.
	OldestCreatedAt time.Time
	// NextDueAt is the earliest NextAttemptAt of the Pending deliveries;
	// zero when there is none. When it is in the past, the dispatchers are
	// that far behind.
	NextDueAt time.Time
}

// QueueStatsStore is implemented by stores that report QueueStats:
// MemoryStore, pgstore and sqlitestore. Monitoring calls QueueStats
// periodically, typically at every collection of a metrics exporter, so
// stores answer it from their queue alone, never the delivery log: its
// cost grows with the number of deliveries pending, not with the number
// ever made. storetest.Run checks an implementation.
type QueueStatsStore interface {
	// QueueStats returns the queue's current QueueStats.
	QueueStats(ctx context.Context) (QueueStats, error)
}
