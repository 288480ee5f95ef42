package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/onplana/webhook"
)

// maxCompleteBatch bounds how many Completes share one transaction.
const maxCompleteBatch = 128

// completeLinger is how long, under load, the writer of a batch of
// Completes waits for more to join it (see groupcommit.New): each transaction
// costs far more than a row, and a dispatcher does not wait for its
// Completes (it records them while sending the next deliveries).
const completeLinger = 500 * time.Microsecond

// completeTimeout bounds the write of one batch of Completes, whose callers
// may have stopped waiting.
const completeTimeout = 30 * time.Second

// Completes arriving while another is being written are written together,
// in one transaction, by one of their callers (internal/groupcommit):
// SQLite has one writer, and the cost of a transaction is mostly its begin
// and commit. An idle store writes a lone Complete at once.

// completion is one Complete waiting to be written.
type completion struct {
	d   *webhook.Delivery
	a   *webhook.Attempt
	now time.Time
}

// errNotUpdated: the delivery was not delivering under the caller's lease
// (or is gone); Complete finds out which.
var errNotUpdated = errors.New("sqlitestore: not updated")

// flushCompletions writes batch in one transaction and returns each
// completion's outcome.
func (s *Store) flushCompletions(ctx context.Context, batch []*completion) []error {
	updated := make([]bool, len(batch))
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		upd, err := tx.PrepareContext(ctx, `UPDATE deliveries SET state = ?, attempt_count = ?,
			next_attempt_at = ?, due_at = ?, lease_expires_at = 0, last_status_code = ?, last_error = ?,
			updated_at = ?
			WHERE id = ? AND state = 'delivering' AND lease_expires_at = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO attempts (delivery_id, number, started_at,
			duration_ns, status_code, error_class, error, response_snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, c := range batch {
			d, a := c.d, c.a
			next := enc(d.NextAttemptAt)
			res, err := upd.ExecContext(ctx, string(d.State), d.AttemptCount, next, next, d.LastStatusCode,
				d.LastError, enc(c.now), d.ID, enc(d.LeaseExpiresAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				continue
			}
			updated[i] = true
			if _, err := ins.ExecContext(ctx, d.ID, a.Number, enc(a.StartedAt), int64(a.Duration),
				a.StatusCode, string(a.ErrorClass), a.Error, a.ResponseSnippet); err != nil {
				return err
			}
		}
		return nil
	})
	outcomes := make([]error, len(batch))
	for i, c := range batch {
		switch {
		case err != nil:
			outcomes[i] = dbErr("complete "+c.d.ID, err)
		case !updated[i]:
			outcomes[i] = errNotUpdated
		}
	}
	return outcomes
}

// lostOrMissing explains why a Complete changed nothing.
func (s *Store) lostOrMissing(ctx context.Context, id string) error {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM deliveries WHERE id = ?`, id).Scan(&one)
	if err != nil {
		return dbErr("complete "+id, err)
	}
	return fmt.Errorf("sqlitestore: complete %s: %w", id, webhook.ErrLeaseLost)
}
