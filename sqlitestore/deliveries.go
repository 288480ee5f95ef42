package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

const deliveryColumns = `id, event_id, event_type, subscription_id, organization_id, project_id, body,
	state, attempt_count, next_attempt_at, lease_expires_at, last_status_code, last_error,
	created_at, updated_at, trace_context`

func scanDelivery(row scanner) (*webhook.Delivery, error) {
	var (
		d                             webhook.Delivery
		next, lease, created, updated int64
	)
	err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.SubscriptionID, &d.OrganizationID, &d.ProjectID,
		&d.Body, &d.State, &d.AttemptCount, &next, &lease, &d.LastStatusCode, &d.LastError, &created, &updated,
		&d.TraceContext)
	if err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.LeaseExpiresAt, d.CreatedAt, d.UpdatedAt = dec(next), dec(lease), dec(created), dec(updated)
	return &d, nil
}

func collectDeliveries(rows *sql.Rows) ([]*webhook.Delivery, error) {
	defer rows.Close()
	var out []*webhook.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Enqueue implements webhook.DeliveryStore in one transaction. It sets
// State, UpdatedAt, and CreatedAt when zero, on each delivery. Deliveries of
// a disabled (or unknown) subscription wait until it is enabled. It returns
// an error wrapping webhook.ErrConflict if an ID exists or repeats.
func (s *Store) Enqueue(ctx context.Context, deliveries []*webhook.Delivery) error {
	for i, d := range deliveries {
		if err := webhook.ValidateDelivery(d); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
	}
	if len(deliveries) == 0 {
		return nil
	}
	now := norm(s.now())
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (id, event_id, event_type,
			subscription_id, organization_id, project_id, body, state, attempt_count, next_attempt_at,
			due_at, held, created_at, updated_at, trace_context)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?,
				NOT EXISTS (SELECT 1 FROM subscriptions WHERE id = ? AND NOT disabled), ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, d := range deliveries {
			created := d.CreatedAt
			if created.IsZero() {
				created = now
			}
			next := enc(d.NextAttemptAt)
			body := d.Body
			if body == nil {
				body = []byte{}
			}
			if _, err := stmt.ExecContext(ctx, d.ID, d.EventID, string(d.EventType), d.SubscriptionID,
				d.OrganizationID, d.ProjectID, body, d.AttemptCount, next, next, d.SubscriptionID,
				enc(created), enc(now), d.TraceContext); err != nil {
				return err
			}
		}
		return nil
	})
	if isConstraint(err) {
		return conflict("enqueue", "a delivery id exists or repeats in the batch")
	}
	if err != nil {
		return dbErr("enqueue", err)
	}
	for _, d := range deliveries {
		d.State, d.LeaseExpiresAt, d.UpdatedAt = webhook.StatePending, time.Time{}, now
		d.NextAttemptAt = norm(d.NextAttemptAt)
		if d.CreatedAt.IsZero() {
			d.CreatedAt = now
		}
	}
	s.signal()
	return nil
}

// Claim implements webhook.DeliveryStore with one UPDATE … RETURNING on the
// single writer connection: pending deliveries due at now and delivering
// ones whose lease expired before now, oldest due first, skipping those of
// disabled subscriptions and of the subscriptions in skip. The subscriptions of the deliveries are read in
// the same transaction.
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	if limit <= 0 {
		return nil, &webhook.ValidationError{Field: "limit", Reason: "must be positive"}
	}
	if lease <= 0 {
		return nil, &webhook.ValidationError{Field: "lease", Reason: "must be positive"}
	}
	n, until := enc(now), enc(now.Add(lease))
	if skip == nil {
		skip = []string{} // json_each('null') is one NULL, and NOT IN (NULL) skips everything
	}
	skipped, err := json.Marshal(skip)
	if err != nil {
		return nil, dbErr("claim", err)
	}
	var out []webhook.Claimed
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries
			SET state = 'delivering', lease_expires_at = ?, due_at = ?, updated_at = ?
			WHERE id IN (
				SELECT d.id FROM deliveries d
				WHERE d.state IN ('pending', 'delivering') AND d.held = 0 AND d.due_at <= ?
				  AND NOT (d.state = 'delivering' AND d.due_at = ?)
				  AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id AND NOT s.disabled)
				  AND d.subscription_id NOT IN (SELECT value FROM json_each(?))
				ORDER BY d.due_at
				LIMIT ?)
			RETURNING `+deliveryColumns, until, until, n, n, n, string(skipped), limit)
		if err != nil {
			return err
		}
		ds, err := collectDeliveries(rows)
		if err != nil || len(ds) == 0 {
			return err
		}
		subs, err := s.subscriptionsOf(ctx, tx, ds)
		if err != nil {
			return err
		}
		slices.SortFunc(ds, func(a, b *webhook.Delivery) int {
			if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		out = make([]webhook.Claimed, len(ds))
		for i, d := range ds {
			out[i] = webhook.Claimed{Delivery: d, Subscription: subs[d.SubscriptionID]}
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("claim", err)
	}
	return out, nil
}

// subscriptionsOf reads the subscriptions of ds, by id, in tx.
func (s *Store) subscriptionsOf(ctx context.Context, tx *sql.Tx, ds []*webhook.Delivery) (map[string]*webhook.Subscription, error) {
	var ids []string
	seen := make(map[string]bool, 1)
	for _, d := range ds {
		if !seen[d.SubscriptionID] {
			seen[d.SubscriptionID] = true
			ids = append(ids, d.SubscriptionID)
		}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions s
		WHERE s.id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	found, err := s.collectSubscriptions(rows)
	if err != nil {
		return nil, err
	}
	subs := make(map[string]*webhook.Subscription, len(found))
	for _, sub := range found {
		subs[sub.ID] = sub
	}
	if len(subs) != len(ids) {
		// Claim's EXISTS saw each one in this transaction.
		return nil, errors.New("a claimed delivery's subscription is missing")
	}
	return subs, nil
}

// errHeld is returned inside a write transaction when the caller no longer
// holds the delivery.
var errHeld = errors.New("lease not held")

// checkHeld explains why an update guarded by a lease changed nothing.
func checkHeld(ctx context.Context, tx *sql.Tx, res sql.Result, id string) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM deliveries WHERE id = ?`, id).Scan(&one); err != nil {
		return err // sql.ErrNoRows: not found
	}
	return errHeld
}

func heldErr(op, id string, err error) error {
	if errors.Is(err, errHeld) {
		return fmt.Errorf("sqlitestore: %s %s: %w", op, id, webhook.ErrLeaseLost)
	}
	return dbErr(op+" "+id, err)
}

// Complete implements webhook.DeliveryStore: it records attempt a and d's
// new state in one transaction (shared with concurrent Completes, see
// complete.go), provided d is still delivering under the
// lease the caller holds, else it returns webhook.ErrLeaseLost (or
// webhook.ErrNotFound).
func (s *Store) Complete(ctx context.Context, d *webhook.Delivery, a *webhook.Attempt) error {
	if d == nil || d.ID == "" {
		return &webhook.ValidationError{Field: "Delivery", Reason: "is nil or has no ID"}
	}
	if a == nil {
		return &webhook.ValidationError{Field: "Attempt", Reason: "is nil"}
	}
	if a.DeliveryID != "" && a.DeliveryID != d.ID {
		return &webhook.ValidationError{Field: "DeliveryID", Reason: "attempt belongs to another delivery"}
	}
	switch d.State {
	case webhook.StatePending, webhook.StateSucceeded, webhook.StateFailed:
	default:
		return &webhook.ValidationError{Field: "State", Reason: fmt.Sprintf("must be pending, succeeded or failed, got %q", d.State)}
	}
	now := norm(s.now())
	err := s.completer.Do(ctx, &completion{d: d, a: a, now: now})
	if errors.Is(err, errNotUpdated) {
		return s.lostOrMissing(ctx, d.ID)
	}
	if err != nil {
		return err
	}
	d.LeaseExpiresAt, d.UpdatedAt, d.NextAttemptAt = time.Time{}, now, norm(d.NextAttemptAt)
	if a.DeliveryID == "" {
		a.DeliveryID = d.ID
	}
	if d.State == webhook.StatePending && !d.NextAttemptAt.After(now) {
		s.signal()
	}
	return nil
}

// Release implements webhook.DeliveryStore. It returns webhook.ErrLeaseLost
// if the caller no longer holds the delivery.
func (s *Store) Release(ctx context.Context, d *webhook.Delivery, at time.Time) error {
	if d == nil || d.ID == "" {
		return &webhook.ValidationError{Field: "Delivery", Reason: "is nil or has no ID"}
	}
	now := norm(s.now())
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', next_attempt_at = ?,
			due_at = ?, lease_expires_at = 0, updated_at = ?
			WHERE id = ? AND state = 'delivering' AND lease_expires_at = ?`,
			enc(at), enc(at), enc(now), d.ID, enc(d.LeaseExpiresAt))
		if err != nil {
			return err
		}
		return checkHeld(ctx, tx, res, d.ID)
	})
	if err != nil {
		return heldErr("release", d.ID, err)
	}
	d.State, d.NextAttemptAt, d.LeaseExpiresAt, d.UpdatedAt = webhook.StatePending, norm(at), time.Time{}, now
	s.signal()
	return nil
}

// GetDelivery returns the delivery with id, or webhook.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id string) (*webhook.Delivery, error) {
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, dbErr("get delivery "+id, err)
	}
	return d, nil
}

// ListDeliveries implements webhook.DeliveryStore: newest first, which is
// descending id, the cursor being the last id of the previous page.
func (s *Store) ListDeliveries(ctx context.Context, q webhook.DeliveryQuery) ([]*webhook.Delivery, string, error) {
	size, err := q.Page.Size()
	if err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.OrganizationID != "" {
		add("organization_id = ?", q.OrganizationID)
	}
	if q.SubscriptionID != "" {
		add("subscription_id = ?", q.SubscriptionID)
	}
	if q.State != "" {
		add("state = ?", string(q.State))
	}
	if q.EventType != "" {
		add("event_type = ?", string(q.EventType))
	}
	if !q.CreatedAfter.IsZero() {
		add("created_at >= ?", enc(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		add("created_at < ?", enc(q.CreatedBefore))
	}
	if q.Page.Cursor != "" {
		add("id < ?", q.Page.Cursor)
	}
	query := `SELECT ` + deliveryColumns + ` FROM deliveries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, size+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", dbErr("list deliveries", err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		return nil, "", dbErr("list deliveries", err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = out[size-1].ID
	}
	return out, next, nil
}

// ListAttempts implements webhook.DeliveryStore: oldest first, or
// webhook.ErrNotFound if there is no such delivery.
func (s *Store) ListAttempts(ctx context.Context, deliveryID string) ([]*webhook.Attempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT number, started_at, duration_ns, status_code, error_class,
			error, response_snippet
		FROM attempts WHERE delivery_id = ? ORDER BY number, rowid`, deliveryID)
	if err != nil {
		return nil, dbErr("list attempts", err)
	}
	defer rows.Close()
	var out []*webhook.Attempt
	for rows.Next() {
		a := &webhook.Attempt{DeliveryID: deliveryID}
		var started, dur int64
		if err := rows.Scan(&a.Number, &started, &dur, &a.StatusCode, &a.ErrorClass, &a.Error, &a.ResponseSnippet); err != nil {
			return nil, dbErr("list attempts", err)
		}
		a.StartedAt, a.Duration = dec(started), time.Duration(dur)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list attempts", err)
	}
	if len(out) == 0 {
		if _, err := s.GetDelivery(ctx, deliveryID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Redeliver implements webhook.DeliveryStore. It returns webhook.ErrNotFound
// if there is no such delivery, and an error wrapping webhook.ErrConflict if
// it is pending or delivering or its subscription was deleted.
func (s *Store) Redeliver(ctx context.Context, id string, at time.Time) error {
	now := norm(s.now())
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM deliveries WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if state != string(webhook.StateSucceeded) && state != string(webhook.StateFailed) {
			return conflict("redeliver", "delivery "+id+" is "+state)
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', next_attempt_at = ?,
			due_at = ?, lease_expires_at = 0, updated_at = ?,
			held = (SELECT disabled FROM subscriptions s WHERE s.id = deliveries.subscription_id)
			WHERE id = ? AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = deliveries.subscription_id)`,
			enc(at), enc(at), enc(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflict("redeliver", "the subscription of delivery "+id+" was deleted")
		}
		return nil
	})
	if errors.Is(err, webhook.ErrConflict) {
		return err
	}
	if err != nil {
		return dbErr("redeliver "+id, err)
	}
	s.signal()
	return nil
}
