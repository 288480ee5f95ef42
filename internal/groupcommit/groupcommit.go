// Package groupcommit writes concurrent requests together (group commit):
// a request that arrives while another is being written waits, and the
// next writer takes every queued request into one batch. The stores use it
// for Complete, whose cost is mostly per statement or per transaction, not
// per row. An idle committer writes a lone request at once; under load the
// writer may wait a little for more requests to join its batch (linger).
package groupcommit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// errLead tells a waiting caller that it is now the writer.
var errLead = errors.New("groupcommit: lead")

// FlushFunc writes batch and returns one outcome per item, in order.
type FlushFunc[T any] func(ctx context.Context, batch []T) []error

// Committer batches concurrent calls of Do. It is safe for concurrent use;
// its zero value is not usable: make one with New.
type Committer[T any] struct {
	flush    FlushFunc[T]
	maxBatch int
	linger   time.Duration
	timeout  time.Duration

	mu        sync.Mutex
	queue     []*request[T]
	writing   bool
	lastBatch int           // size of the batch written last
	full      chan struct{} // while the writer lingers: closed when maxBatch wait
}

// request is one call of Do waiting to be written.
type request[T any] struct {
	v    T
	done chan error // receives the outcome, or errLead
	// abandoned is set, under Committer.mu, when the caller stopped
	// waiting: the request is still written (a caller that gave up does not
	// take back what it asked for), but it is never handed the lead.
	abandoned bool
}

// New returns a Committer writing batches of at most maxBatch items with
// flush, each under a context of its own bounded by timeout. When the
// batch written last held more than one request (the committer is under
// load), the writer waits up to linger, or until maxBatch requests wait,
// before it takes the next batch, so that more requests share each write;
// a lone request on an idle committer is written at once. A linger of 0
// never waits.
func New[T any](maxBatch int, linger, timeout time.Duration, flush FlushFunc[T]) *Committer[T] {
	return &Committer[T]{flush: flush, maxBatch: max(maxBatch, 1), linger: max(linger, 0), timeout: timeout}
}

// Do queues v and returns its outcome once written, by this caller or by
// another. If ctx ends first it returns ctx.Err(), and v is still written
// later: the outcome is then unknown to the caller, as when a response is
// lost.
func (c *Committer[T]) Do(ctx context.Context, v T) error {
	r := &request[T]{v: v, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	if c.full != nil && len(c.queue) >= c.maxBatch {
		close(c.full)
		c.full = nil
	}
	lead := !c.writing
	c.writing = true
	c.mu.Unlock()
	if !lead {
		select {
		case err := <-r.done:
			if err != errLead {
				return err
			}
		case <-ctx.Done():
			if !c.abandon(r) {
				return ctx.Err()
			}
			// Handed the lead meanwhile: lead, or nobody would.
		}
	}
	// Lead: write batches until ours is written, then hand the lead to a
	// caller still waiting; requests whose callers left are written by the
	// leader.
	for {
		c.gather()
		c.mu.Lock()
		n := min(len(c.queue), c.maxBatch)
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.lastBatch = n
		c.mu.Unlock()

		c.write(ctx, batch)

		c.mu.Lock()
		if !slices.Contains(c.queue, r) { // ours is written
			if i := slices.IndexFunc(c.queue, func(q *request[T]) bool { return !q.abandoned }); i >= 0 {
				c.queue[i].done <- errLead
				c.mu.Unlock()
				break
			}
			if len(c.queue) == 0 {
				c.writing = false
				c.mu.Unlock()
				break
			}
		}
		c.mu.Unlock()
	}
	return <-r.done
}

// gather waits up to c.linger for maxBatch requests to queue when the last
// batch held more than one; the caller leads.
func (c *Committer[T]) gather() {
	c.mu.Lock()
	if c.linger == 0 || c.lastBatch <= 1 || len(c.queue) >= c.maxBatch {
		c.mu.Unlock()
		return
	}
	full := make(chan struct{})
	c.full = full
	c.mu.Unlock()
	t := time.NewTimer(c.linger)
	defer t.Stop()
	select {
	case <-t.C:
		c.mu.Lock()
		c.full = nil
		c.mu.Unlock()
	case <-full: // Do cleared c.full
	}
}

// write flushes batch and hands each request its outcome.
func (c *Committer[T]) write(ctx context.Context, batch []*request[T]) {
	// The batch carries other callers' requests: this caller's cancellation
	// must not fail them, so the write gets a context of its own.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	items := make([]T, len(batch))
	for i, r := range batch {
		items[i] = r.v
	}
	errs := c.flush(wctx, items)
	for i, r := range batch {
		var err error
		if i < len(errs) {
			err = errs[i]
		} else {
			err = errors.New("groupcommit: flush returned too few outcomes")
		}
		r.done <- err
	}
}

// abandon marks r, whose caller stopped waiting, abandoned and reports
// false; or reports true if the lead was handed to r before, which the
// caller must then take.
func (c *Committer[T]) abandon(r *request[T]) (lead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The lead is only sent under mu; an outcome may arrive at any time.
	select {
	case err := <-r.done:
		return err == errLead // else the outcome arrived, unread
	default:
		r.abandoned = true
		return false
	}
}
