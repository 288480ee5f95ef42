package pgstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/onplana/webhook"
)

// maxCompleteBatch bounds how many Completes share one statement.
const maxCompleteBatch = 128

// Completes arriving while another is being written are written together,
// in one statement, by one of their callers (group commit): under load a
// dispatcher's workers finish attempts faster than one round trip each, and
// PostgreSQL does far less work per row in one statement than in many.
// An idle store writes a lone Complete at once; nothing waits for a batch
// to fill.

// completion is one Complete waiting to be written.
type completion struct {
	d    *webhook.Delivery
	a    *webhook.Attempt
	now  time.Time
	done chan error // receives the outcome, or errLead
	// abandoned is set, under completer.mu, when the caller stopped
	// waiting: the completion is still written (an attempt's result is
	// kept through an outage), but it is never handed the lead.
	abandoned bool
}

var (
	// errNotUpdated: the delivery was not delivering under the caller's
	// lease (or is gone); Complete finds out which.
	errNotUpdated = errors.New("pgstore: not updated")
	// errLead tells a waiting caller to write the queued completions.
	errLead = errors.New("pgstore: lead")
)

// completer queues completions; at most one caller writes at a time.
type completer struct {
	mu      sync.Mutex
	queue   []*completion
	writing bool
}

// writeCompletion queues c and returns its outcome once written, by this
// caller or by another. If ctx ends first it returns ctx.Err() and c is
// still written later.
func (s *Store) writeCompletion(ctx context.Context, c *completion) error {
	cm := &s.completer
	cm.mu.Lock()
	cm.queue = append(cm.queue, c)
	lead := !cm.writing
	cm.writing = true
	cm.mu.Unlock()
	if !lead {
		select {
		case err := <-c.done:
			if err != errLead {
				return err
			}
		case <-ctx.Done():
			if !cm.abandon(c) {
				// Written, or to be written by another caller: the
				// outcome is unknown, as when a response is lost.
				return ctx.Err()
			}
			// Handed the lead meanwhile: lead, or nobody would.
		}
	}
	// Lead: write batches until ours is written, then hand the lead to a
	// caller still waiting; completions whose callers left are written by
	// the leader.
	for {
		cm.mu.Lock()
		n := min(len(cm.queue), maxCompleteBatch)
		batch := cm.queue[:n:n]
		cm.queue = cm.queue[n:]
		cm.mu.Unlock()

		// The batch carries other callers' results: do not let this
		// caller's cancellation fail them; retryLost bounds it instead.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		s.flushCompletions(wctx, batch)
		cancel()

		cm.mu.Lock()
		if !slices.Contains(cm.queue, c) { // ours is written
			if i := slices.IndexFunc(cm.queue, func(q *completion) bool { return !q.abandoned }); i >= 0 {
				cm.queue[i].done <- errLead
				cm.mu.Unlock()
				break
			}
			if len(cm.queue) == 0 {
				cm.writing = false
				cm.mu.Unlock()
				break
			}
		}
		cm.mu.Unlock()
	}
	return <-c.done
}

// abandon marks c, whose caller stopped waiting, abandoned and reports
// false; or reports true if the lead was handed to c before, which the
// caller must then take.
func (cm *completer) abandon(c *completion) (lead bool) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	// The lead is only sent under mu; an outcome may arrive at any time.
	select {
	case err := <-c.done:
		return err == errLead // else the outcome arrived, unread
	default:
		c.abandoned = true
		return false
	}
}

// flushCompletions writes batch in one statement and tells each caller its
// outcome. The lease is checked on the queue row, which a success or
// failure deletes and a retry reschedules; the delivery row is updated
// only through it, so that, as in Claim, the queue row is locked before
// the delivery row and a Claim reclaiming an expired lease never
// deadlocks with the Complete of its previous holder.
func (s *Store) flushCompletions(ctx context.Context, batch []*completion) {
	n := len(batch)
	var (
		ids, states, lastErrs, classes, errs, snippets = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		counts, codes, nums, statuses                  = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
		next, updated, leases, started                 = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		durs                                           = make([]int64, n)
	)
	for i, c := range batch {
		d, a := c.d, c.a
		ids[i], states[i], counts[i], next[i] = d.ID, string(d.State), int32(d.AttemptCount), ts(d.NextAttemptAt)
		codes[i], lastErrs[i], updated[i], leases[i] = int32(d.LastStatusCode), d.LastError, c.now, ts(d.LeaseExpiresAt)
		nums[i], started[i], durs[i], statuses[i] = int32(a.Number), ts(a.StartedAt), int64(a.Duration), int32(a.StatusCode)
		classes[i], errs[i], snippets[i] = string(a.ErrorClass), a.Error, a.ResponseSnippet
	}
	done := make(map[string]bool, n)
	err := retryLost(ctx, func() error {
		clear(done)
		rows, err := s.pool.Query(ctx, `WITH input AS (
				SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::int[],
					$6::text[], $7::timestamptz[], $8::timestamptz[], $9::int[], $10::timestamptz[],
					$11::bigint[], $12::int[], $13::text[], $14::text[], $15::text[])
					AS t(id, state, cnt, nxt, code, lerr, upd, lease, num, started, dur, status, class, err, snippet)
			), requeued AS (
				UPDATE webhook_queue q SET due_at = i.nxt, lease_expires_at = NULL
				FROM input i
				WHERE q.delivery_id = i.id AND q.lease_expires_at = i.lease AND i.state = 'pending'
				RETURNING q.delivery_id
			), dequeued AS (
				DELETE FROM webhook_queue q USING input i
				WHERE q.delivery_id = i.id AND q.lease_expires_at = i.lease AND i.state <> 'pending'
				RETURNING q.delivery_id
			), upd AS (
				UPDATE webhook_deliveries d SET state = i.state, attempt_count = i.cnt,
					next_attempt_at = i.nxt, lease_expires_at = NULL,
					last_status_code = i.code, last_error = i.lerr, updated_at = i.upd
				FROM input i, (SELECT delivery_id FROM requeued UNION ALL SELECT delivery_id FROM dequeued) AS g
				WHERE d.id = i.id AND g.delivery_id = i.id
				RETURNING d.id
			), ins AS (
				INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ns, status_code,
					error_class, error, response_snippet)
				SELECT i.id, i.num, i.started, i.dur, i.status, i.class, i.err, i.snippet
				FROM input i JOIN upd ON upd.id = i.id
			)
			SELECT id FROM upd`,
			ids, states, counts, next, codes, lastErrs, updated, leases, nums, started, durs, statuses,
			classes, errs, snippets)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			done[id] = true
		}
		return rows.Err()
	})
	for _, c := range batch {
		switch {
		case err != nil:
			c.done <- dbErr("complete", err)
		case done[c.d.ID]:
			c.done <- nil
		default:
			c.done <- errNotUpdated
		}
	}
}
