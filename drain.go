package webhook

import (
	"context"
	"errors"
	"time"
)

// drainPoll is how often Drain looks at the store.
const drainPoll = 20 * time.Millisecond

// Drain waits until nothing is due: no attempt in flight and no pending
// delivery whose next attempt is due now, so that every delivery due when
// Drain was called has been attempted and has either ended or been
// scheduled for a later retry. It is what a test, a command-line tool or a
// batch job calls after Publish, before reading the delivery log or
// exiting, instead of polling ListDeliveries.
//
// Drain does not stop the Dispatcher, and does not attempt anything itself:
// the workers of Start, in this process or in another one sharing the
// store, do. Without them it waits until ctx ends. Deliveries of disabled
// subscriptions, which no worker claims, do not count.
//
// It returns nil once nothing is due, ctx.Err() if ctx ends first,
// ErrClosed after Close, and the store's errors. It reads the store every
// 20 ms, listing the pending deliveries: it is meant for the end of a job,
// not for a loop in a server whose queue holds many scheduled retries.
func (d *Dispatcher) Drain(ctx context.Context) error {
	if ctx == nil {
		return &ValidationError{Field: "ctx", Reason: "must not be nil"}
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	// Two idle looks in a row: between the reads of one look, a delivery
	// can move from pending to delivering and back (released to be sent
	// again at once), and so be seen by neither.
	idle := 0
	for {
		if d.isClosed() {
			return ErrClosed
		}
		busy, err := d.busy(ctx)
		switch {
		case err != nil:
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return err
		case busy:
			idle = 0
		default:
			if idle++; idle == 2 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// busy reports whether the store holds a pending delivery due now, of an
// enabled subscription, or a delivery being attempted.
func (d *Dispatcher) busy(ctx context.Context) (bool, error) {
	now := d.now()
	enabled := map[string]bool{} // by subscription id, read once per look
	q := DeliveryQuery{State: StatePending, Page: Page{Limit: MaxPageSize}}
	for {
		page, next, err := d.store.ListDeliveries(ctx, q)
		if err != nil {
			return false, err
		}
		for _, dl := range page {
			if dl.NextAttemptAt.After(now) {
				continue
			}
			on, ok := enabled[dl.SubscriptionID]
			if !ok {
				sub, err := d.store.GetSubscription(ctx, dl.SubscriptionID)
				switch {
				case errors.Is(err, ErrNotFound):
				case err != nil:
					return false, err
				default:
					on = !sub.Disabled
				}
				enabled[dl.SubscriptionID] = on
			}
			if on {
				return true, nil
			}
		}
		if next == "" {
			break
		}
		q.Page.Cursor = next
	}
	// Read after the pending ones: a delivery claimed in between is seen
	// here, still delivering.
	inFlight, _, err := d.store.ListDeliveries(ctx, DeliveryQuery{State: StateDelivering, Page: Page{Limit: 1}})
	if err != nil {
		return false, err
	}
	return len(inFlight) > 0, nil
}
