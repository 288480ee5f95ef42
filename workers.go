package webhook

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// The claim loop and the workers: the loop keeps the endpoint queues
// (endpoints.go) filled with due deliveries, claiming when they have room
// and waking on store notifications, on the deliveries this process
// scheduled, on a poll, on nudges from Publish and on room made by the
// workers; Config.Workers workers take the deliveries from the queues and
// send them (deliver.go).

// claimKnowledge is what the loop's last claims tell of the store: when
// a claim that skipped the subscriptions in skipped returned less than it
// asked for, nothing else was due, and a claim that skips them all again
// would find nothing (on a database, after scanning a saturated
// endpoint's backlog) until new work may have come: a store
// notification, a nudge, the poll or a due time.
type claimKnowledge struct {
	exhausted bool
	skipped   map[string]bool
}

// useless reports whether a claim that skips skip would find nothing: it
// skips every subscription the exhausting claim skipped.
func (k *claimKnowledge) useless(skip []string) bool {
	if !k.exhausted {
		return false
	}
	for id := range k.skipped {
		if !slices.Contains(skip, id) {
			return false
		}
	}
	return true
}

// learn records a claim that skipped skip and returned fewer deliveries
// than it asked for.
func (k *claimKnowledge) learn(skip []string) {
	k.exhausted = true
	clear(k.skipped)
	if k.skipped == nil {
		k.skipped = make(map[string]bool, len(skip))
	}
	for _, id := range skip {
		k.skipped[id] = true
	}
}

// nudge wakes the claim loop without blocking.
func (d *Dispatcher) nudge() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// roomMade wakes the claim loop without blocking: the endpoint queues have
// room for another claim.
func (d *Dispatcher) roomMade() {
	select {
	case d.room <- struct{}{}:
	default:
	}
}

// scheduled tells the loop that this process made a delivery due at t, so
// it wakes then even without a store notification.
func (d *Dispatcher) scheduled(t time.Time) {
	d.mu.Lock()
	earlier := d.nextDue.IsZero() || t.Before(d.nextDue)
	if earlier {
		d.nextDue = t
	}
	d.mu.Unlock()
	if earlier {
		d.nudge()
	}
}

// loop starts the workers and claims due deliveries for them until ctx
// ends; then it waits for the workers, gives back what they did not take,
// and closes d.done.
func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	defer d.stopRecorders()
	defer func() {
		left := d.queues.close()
		d.workers.Wait()
		now := d.now()
		for _, h := range left {
			d.release(h.Delivery, now)
		}
	}()
	for range d.cfg.Workers {
		d.workers.Add(1)
		go d.work()
	}

	var notify <-chan struct{}
	if wn, ok := d.store.(WorkNotifier); ok {
		notify = wn.WorkAvailable()
	}
	poll := time.NewTicker(d.cfg.PollInterval)
	defer poll.Stop()
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()

	var known claimKnowledge
	for {
		d.fill(ctx, &known)
		if ctx.Err() != nil {
			return
		}
		// Wake for the earliest delivery this process scheduled; later ones
		// are found by the poll, which bounds how late any can be.
		now := d.now()
		d.mu.Lock()
		next := d.nextDue
		if !next.IsZero() && !next.After(now) {
			next, d.nextDue = time.Time{}, time.Time{}
		}
		d.mu.Unlock()
		if !next.IsZero() {
			due.Reset(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-d.room:
			continue // the store has no more work than it had
		case <-notify:
		case <-poll.C:
		case <-due.C:
		case <-d.wake:
		}
		known.exhausted = false
	}
}

// fill claims due deliveries into the endpoint queues while they have
// room and the store may have due deliveries to give.
func (d *Dispatcher) fill(ctx context.Context, known *claimKnowledge) {
	for ctx.Err() == nil {
		limit, skip := d.queues.room()
		if limit == 0 || known.useless(skip) {
			return
		}
		d.claimMu.RLock()
		at := time.Now()
		claimed, err := d.store.Claim(ctx, d.now(), limit, d.lease, skip)
		d.claimMu.RUnlock()
		if err != nil {
			if ctx.Err() == nil {
				d.log.LogAttrs(ctx, slog.LevelError, "webhook: claim deliveries", slog.String("error", err.Error()))
			}
			return
		}
		d.queues.add(d.hold(claimed, at))
		if len(claimed) < limit {
			known.learn(skip)
			return
		}
	}
}

// work sends the deliveries the endpoint queues hand it, one at a time,
// until the queues close.
func (d *Dispatcher) work() {
	defer d.workers.Done()
	timer := &deadlineTimer{parent: d.runCtx, timeout: d.cfg.AttemptTimeout, cause: errAttemptTimeout}
	defer timer.close()
	for {
		h, q, refill, ok := d.queues.next()
		if !ok {
			return
		}
		if refill {
			d.roomMade()
		}
		took := d.process(d.runCtx, h, timer)
		if d.queues.done(q, h.Delivery.SubscriptionID, took) {
			d.roomMade()
		}
	}
}

// stopRecorders waits for the recorders to record every attempt handed to
// them, once the workers have exited.
func (d *Dispatcher) stopRecorders() {
	close(d.records)
	d.recorders.Wait()
}

// release returns a held delivery to pending, due at at, without recording
// an attempt.
func (d *Dispatcher) release(dl *Delivery, at time.Time) {
	ctx, cancel := d.storeContext()
	defer cancel()
	if err := d.store.Release(ctx, dl, at); err != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "webhook: release delivery",
			slog.String("delivery_id", dl.ID), slog.String("error", err.Error()))
		return
	}
	d.scheduled(at)
}
