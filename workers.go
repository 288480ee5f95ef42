package webhook

import (
	"context"
	"log/slog"
	"time"
)

// The claim loop and the workers: the loop claims due deliveries for free
// worker slots and wakes on store notifications, on the deliveries this
// process scheduled, on a poll, and on nudges from Publish; each worker
// sends its delivery (deliver.go), then claims the next one itself,
// sharing batches claimed ahead with the other workers.

// nudge wakes the claim loop without blocking.
func (d *Dispatcher) nudge() {
	select {
	case d.wake <- struct{}{}:
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

// loop claims due deliveries and hands each to a worker goroutine until
// ctx ends; then it waits for the workers and closes d.done.
func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	defer d.releaseAhead() // after the workers, which take from it, are gone
	defer d.stopRecorders()
	defer d.workers.Wait()

	var notify <-chan struct{}
	if wn, ok := d.store.(WorkNotifier); ok {
		notify = wn.WorkAvailable()
	}
	poll := time.NewTicker(d.cfg.PollInterval)
	defer poll.Stop()
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()

	for {
		saturated := d.claim(ctx)
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
		if saturated {
			// Every slot is busy: claim again as soon as one frees.
			select {
			case <-ctx.Done():
				return
			case <-d.slotFreed:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-notify:
		case <-poll.C:
		case <-due.C:
		case <-d.wake:
		}
	}
}

// claim claims as many due deliveries as there are free slots and starts
// a worker for each. It reports whether every slot is now busy.
func (d *Dispatcher) claim(ctx context.Context) (saturated bool) {
	for {
		free := cap(d.slots) - len(d.slots)
		if free == 0 {
			return true
		}
		limit := min(free, maxClaimBatch)
		d.claimMu.RLock()
		at := time.Now()
		claimed, err := d.store.Claim(ctx, d.now(), limit, d.lease)
		d.claimMu.RUnlock()
		if err != nil {
			if ctx.Err() == nil {
				d.log.LogAttrs(ctx, slog.LevelError, "webhook: claim deliveries", slog.String("error", err.Error()))
			}
			return false
		}
		for _, h := range d.hold(claimed, at) {
			d.slots <- struct{}{}
			d.workers.Add(1)
			go d.work(ctx, h)
		}
		if len(claimed) < limit {
			return false
		}
	}
}

// work runs a claimed delivery, then keeps its slot busy with the next due
// delivery it can claim itself, so that a steady flow does not wait for
// the claim loop between two attempts. It frees the slot when nothing is
// due or the dispatcher is stopping.
func (d *Dispatcher) work(loopCtx context.Context, h held) {
	timer := &deadlineTimer{parent: d.runCtx, timeout: d.cfg.AttemptTimeout, cause: errAttemptTimeout}
	defer func() {
		timer.close()
		<-d.slots
		d.workers.Done()
		select {
		case d.slotFreed <- struct{}{}:
		default:
		}
	}()
	for h.Delivery != nil {
		if loopCtx.Err() != nil {
			// Claimed while Close was stopping the loop: not sent.
			d.release(h.Delivery, d.now())
			return
		}
		d.process(d.runCtx, h, timer)
		h = d.claimOne(loopCtx)
	}
}

// claimOne returns the next due delivery, or none: one claimed ahead by
// another worker, or the first of a new batch (claimAhead, or
// claimAheadRemote on a database store). The worker that takes what is
// left of the batches down to refillAt claims the next batch, without
// holding aheadMu, while the others go on taking from what is left: on a
// database a claim costs a round trip, which would otherwise idle every
// worker at once, and even on a MemoryStore the others would queue on
// aheadMu while it waits for the store's lock.
func (d *Dispatcher) claimOne(ctx context.Context) held {
	if ctx.Err() != nil {
		return held{}
	}
	d.aheadMu.Lock()
	waited := false
	for len(d.ahead) == 0 && d.refilling {
		d.refilled.Wait()
		waited = true
	}
	if len(d.ahead) == 0 && waited {
		// The refill this worker waited for found nothing left for it.
		d.aheadMu.Unlock()
		return held{}
	}
	size := claimAheadRemote
	if d.inMemory {
		size = claimAhead
	}
	refill := len(d.ahead) <= refillAt(size)+1 && !d.refilling
	d.refilling = d.refilling || refill
	h := d.popAhead()
	d.aheadMu.Unlock()
	if !refill {
		return h
	}
	batch := d.claimBatch(ctx, size)
	d.aheadMu.Lock()
	defer d.aheadMu.Unlock()
	d.ahead = append(d.ahead, batch...)
	d.refilling = false
	d.refilled.Broadcast()
	if h.Delivery == nil {
		h = d.popAhead()
	}
	return h
}

// refillAt is how many deliveries claimed ahead, out of batches of size,
// are left when a worker claims the next batch: enough for the others to
// send during the claim.
func refillAt(size int) int { return size * 3 / 4 }

// popAhead removes and returns the first delivery of d.ahead, or none. The
// caller holds aheadMu.
func (d *Dispatcher) popAhead() held {
	if len(d.ahead) == 0 {
		return held{}
	}
	h := d.ahead[0]
	d.ahead[0] = held{}
	d.ahead = d.ahead[1:]
	return h
}

// claimBatch claims up to n due deliveries; on error it returns none (the
// loop reports claim errors and retries).
func (d *Dispatcher) claimBatch(ctx context.Context, n int) []held {
	d.claimMu.RLock()
	defer d.claimMu.RUnlock()
	at := time.Now()
	batch, err := d.store.Claim(ctx, d.now(), n, d.lease)
	if err != nil {
		return nil
	}
	return d.hold(batch, at)
}

// stopRecorders waits for the recorders to record every attempt handed to
// them, once the workers have exited.
func (d *Dispatcher) stopRecorders() {
	if d.records != nil {
		close(d.records)
		d.recorders.Wait()
	}
}

// releaseAhead returns the deliveries claimed ahead and not started to
// pending, due now, when the workers have stopped.
func (d *Dispatcher) releaseAhead() {
	d.aheadMu.Lock()
	ahead := d.ahead
	d.ahead = nil
	d.aheadMu.Unlock()
	now := d.now()
	for _, h := range ahead {
		d.release(h.Delivery, now)
	}
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
