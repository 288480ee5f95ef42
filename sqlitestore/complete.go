package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/onplana/webhook"
)

// maxCompleteBatch bounds how many Completes share one transaction.
const maxCompleteBatch = 128

// Completes arriving while another is being written are written together,
// in one transaction, by one of their callers (group commit): SQLite has
// one writer, and the cost of a transaction is mostly its begin and commit.
// An idle store writes a lone Complete at once.

type completion struct {
	d    *webhook.Delivery
	a    *webhook.Attempt
	now  time.Time
	done chan error // the outcome, or errLead
}

var (
	errNotUpdated = errors.New("sqlitestore: not updated")
	errLead       = errors.New("sqlitestore: lead")
)

type completer struct {
	mu      sync.Mutex
	queue   []*completion
	writing bool
}

// writeCompletion queues c and returns its outcome once written, by this
// caller or by another.
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
			return ctx.Err() // the outcome is unknown, as when a response is lost
		}
	}
	cm.mu.Lock()
	n := min(len(cm.queue), maxCompleteBatch)
	batch := cm.queue[:n:n]
	cm.queue = cm.queue[n:]
	cm.mu.Unlock()

	// The batch carries other callers' results: this caller's cancellation
	// must not fail them.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	s.flushCompletions(wctx, batch)
	cancel()

	cm.mu.Lock()
	if len(cm.queue) > 0 {
		cm.queue[0].done <- errLead
	} else {
		cm.writing = false
	}
	cm.mu.Unlock()
	return <-c.done
}

// flushCompletions writes batch in one transaction and tells each caller
// its outcome.
func (s *Store) flushCompletions(ctx context.Context, batch []*completion) {
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
	for i, c := range batch {
		switch {
		case err != nil:
			c.done <- dbErr("complete "+c.d.ID, err)
		case updated[i]:
			c.done <- nil
		default:
			c.done <- errNotUpdated
		}
	}
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
