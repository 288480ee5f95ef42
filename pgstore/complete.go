package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/onplana/webhook"
)

// maxCompleteBatch bounds how many Completes share one statement.
const maxCompleteBatch = 128

// completeLinger is how long, under load, the writer of a batch of
// Completes waits for more to join it (see groupcommit.New): each statement
// costs far more than a row, and a dispatcher does not wait for its
// Completes (it records them while sending the next deliveries).
const completeLinger = 500 * time.Microsecond

// completeTimeout bounds the write of one batch of Completes, whose callers
// may have stopped waiting; retryLost retries within it through a lost
// connection.
const completeTimeout = 30 * time.Second

// Completes arriving while another is being written are written together,
// in one statement, by one of their callers (internal/groupcommit): under
// load a dispatcher's workers finish attempts faster than one round trip
// each, and PostgreSQL does far less work per row in one statement than in
// many. An idle store writes a lone Complete at once.

// completion is one Complete waiting to be written.
type completion struct {
	d   *webhook.Delivery
	a   *webhook.Attempt
	now time.Time
}

// errNotUpdated: the delivery was not delivering under the caller's lease
// (or is gone); Complete finds out which.
var errNotUpdated = errors.New("pgstore: not updated")

// flushCompletions writes batch in one statement and returns each
// completion's outcome. The lease is checked on the queue row, which a
// success or failure deletes and a retry reschedules; the delivery row is updated
// only through it, so that, as in Claim, the queue row is locked before
// the delivery row and a Claim reclaiming an expired lease never
// deadlocks with the Complete of its previous holder.
func (s *Store) flushCompletions(ctx context.Context, batch []*completion) []error {
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
				UPDATE webhook_queue q SET due_at = i.nxt, lease_expires_at = NULL, claimed_at = NULL,
					attempt_count = i.cnt
				FROM input i
				WHERE q.delivery_id = i.id AND q.lease_expires_at = i.lease AND i.state = 'pending'
				RETURNING q.delivery_id
			), dequeued AS (
				DELETE FROM webhook_queue q USING input i
				WHERE q.delivery_id = i.id AND q.lease_expires_at = i.lease AND i.state <> 'pending'
				RETURNING q.delivery_id
			), upd AS (
				UPDATE webhook_deliveries d SET state = i.state, attempt_count = i.cnt,
					next_attempt_at = i.nxt, last_status_code = i.code, last_error = i.lerr, updated_at = i.upd
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
	outcomes := make([]error, len(batch))
	for i, c := range batch {
		switch {
		case err != nil:
			outcomes[i] = dbErr("complete", err)
		case !done[c.d.ID]:
			outcomes[i] = errNotUpdated
		}
	}
	return outcomes
}
