package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/eventpattern"
	"github.com/onplana/webhook/internal/storedsecrets"
)

const subscriptionColumns = `s.id, s.organization_id, s.project_id, s.url, s.event_types, s.description,
	s.disabled, s.disabled_reason, s.secrets, s.secrets_key_id, s.secrets_sealed, s.failing_since,
	s.created_at, s.updated_at`

type scanner interface{ Scan(dest ...any) error }

// scanSubscription reads one row of subscriptionColumns, opening its
// secrets.
func (s *Store) scanSubscription(row scanner) (*webhook.Subscription, error) {
	var (
		sub                       webhook.Subscription
		types                     string
		secrets                   stored
		failing, created, updated int64
	)
	err := row.Scan(&sub.ID, &sub.OrganizationID, &sub.ProjectID, &sub.URL, &types, &sub.Description,
		&sub.Disabled, &sub.DisabledReason, &secrets.Clear, &secrets.KeyID, &secrets.Sealed, &failing, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &sub.EventTypes); err != nil {
		return nil, err
	}
	if sub.Secrets, err = storedsecrets.Open(s.keys, sub.ID, &secrets); err != nil {
		return nil, err
	}
	sub.FailingSince, sub.CreatedAt, sub.UpdatedAt = dec(failing), dec(created), dec(updated)
	return &sub, nil
}

func (s *Store) collectSubscriptions(rows *sql.Rows) ([]*webhook.Subscription, error) {
	defer rows.Close()
	var out []*webhook.Subscription
	for rows.Next() {
		sub, err := s.scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// writePatterns replaces the match index rows of sub.
func writePatterns(ctx context.Context, tx *sql.Tx, sub *webhook.Subscription) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_patterns WHERE subscription_id = ?`, sub.ID); err != nil {
		return err
	}
	for _, p := range sub.EventTypes {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscription_patterns
			(organization_id, pattern, project_id, subscription_id) VALUES (?, ?, ?, ?)`,
			sub.OrganizationID, p, sub.ProjectID, sub.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateSubscription implements webhook.SubscriptionStore. It returns an
// error wrapping webhook.ErrConflict if the ID exists.
func (s *Store) CreateSubscription(ctx context.Context, sub *webhook.Subscription) error {
	if err := webhook.ValidateSubscription(sub); err != nil {
		return err
	}
	types, err := json.Marshal(sub.EventTypes)
	if err != nil {
		return dbErr("create subscription", err)
	}
	secrets, err := storedsecrets.Seal(s.keys, sub.ID, sub.Secrets)
	if err != nil {
		return dbErr("create subscription", err)
	}
	now := norm(s.now())
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (id, organization_id, project_id, url,
			event_types, description, disabled, disabled_reason, secrets, secrets_key_id, secrets_sealed,
			failing_since, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.OrganizationID, sub.ProjectID, sub.URL, string(types), sub.Description, sub.Disabled,
			sub.DisabledReason, string(secrets.Clear), secrets.KeyID, secrets.Sealed, enc(sub.FailingSince), enc(now), enc(now))
		if err != nil {
			return err
		}
		return writePatterns(ctx, tx, sub)
	})
	if isConstraint(err) {
		return conflict("create subscription", "subscription "+sub.ID+" exists")
	}
	if err != nil {
		return dbErr("create subscription", err)
	}
	sub.CreatedAt, sub.UpdatedAt = now, now
	return nil
}

// GetSubscription returns the subscription with id, or webhook.ErrNotFound.
func (s *Store) GetSubscription(ctx context.Context, id string) (*webhook.Subscription, error) {
	sub, err := s.scanSubscription(s.r.QueryRowContext(ctx,
		`SELECT `+subscriptionColumns+` FROM subscriptions s WHERE s.id = ?`, id))
	if err != nil {
		return nil, dbErr("get subscription "+id, err)
	}
	return sub, nil
}

// ListSubscriptions implements webhook.SubscriptionStore: ascending id, the
// cursor being the last id of the previous page.
func (s *Store) ListSubscriptions(ctx context.Context, organizationID string, page webhook.Page) ([]*webhook.Subscription, string, error) {
	size, err := page.Size()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions s
		WHERE s.organization_id = ? AND s.id > ? ORDER BY s.id LIMIT ?`, organizationID, page.Cursor, size+1)
	if err != nil {
		return nil, "", dbErr("list subscriptions", err)
	}
	out, err := s.collectSubscriptions(rows)
	if err != nil {
		return nil, "", dbErr("list subscriptions", err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = out[size-1].ID
	}
	return out, next, nil
}

// UpdateSubscription implements webhook.SubscriptionStore. In the same
// transaction it holds the subscription's waiting deliveries when it is
// disabled and frees them when it is enabled.
func (s *Store) UpdateSubscription(ctx context.Context, sub *webhook.Subscription) error {
	if err := webhook.ValidateSubscription(sub); err != nil {
		return err
	}
	types, err := json.Marshal(sub.EventTypes)
	if err != nil {
		return dbErr("update subscription", err)
	}
	secrets, err := storedsecrets.Seal(s.keys, sub.ID, sub.Secrets)
	if err != nil {
		return dbErr("update subscription", err)
	}
	now := norm(s.now())
	var (
		created int64
		freed   int64
	)
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var org string
		if err := tx.QueryRowContext(ctx, `SELECT organization_id, created_at FROM subscriptions WHERE id = ?`,
			sub.ID).Scan(&org, &created); err != nil {
			return err
		}
		if org != sub.OrganizationID {
			return &webhook.ValidationError{Field: "OrganizationID", Reason: "cannot change"}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET project_id = ?, url = ?, event_types = ?,
			description = ?, disabled = ?, disabled_reason = ?, secrets = ?, secrets_key_id = ?,
			secrets_sealed = ?, failing_since = ?, updated_at = ?
			WHERE id = ?`,
			sub.ProjectID, sub.URL, string(types), sub.Description, sub.Disabled, sub.DisabledReason,
			string(secrets.Clear), secrets.KeyID, secrets.Sealed, enc(sub.FailingSince), max(enc(now), created), sub.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET held = ?
			WHERE subscription_id = ? AND state IN ('pending', 'delivering') AND held <> ?`,
			sub.Disabled, sub.ID, sub.Disabled)
		if err != nil {
			return err
		}
		if !sub.Disabled {
			freed, _ = res.RowsAffected()
		}
		return writePatterns(ctx, tx, sub)
	})
	if err != nil {
		var verr *webhook.ValidationError
		if errors.As(err, &verr) {
			return err
		}
		return dbErr("update subscription "+sub.ID, err)
	}
	sub.CreatedAt, sub.UpdatedAt = dec(created), dec(max(enc(now), created))
	if freed > 0 {
		s.signal()
	}
	return nil
}

// DeleteSubscription implements webhook.SubscriptionStore: it deletes the
// subscription and its pending deliveries and holds the ones being
// attempted, which stay in the log but are never claimed again.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE subscription_id = ? AND state = 'pending'`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET held = 1 WHERE subscription_id = ? AND state = 'delivering'`, id)
		return err
	})
	if err != nil {
		return dbErr("delete subscription "+id, err)
	}
	return nil
}

// MatchSubscriptionIDs implements webhook.SubscriptionStore. It looks up
// the three patterns of typ in the organization's pattern index, in
// ascending id order.
func (s *Store) MatchSubscriptionIDs(ctx context.Context, organizationID, projectID string, typ webhook.EventType) ([]string, error) {
	keys := eventpattern.Keys(string(typ))
	rows, err := s.r.QueryContext(ctx, `SELECT s.id FROM subscriptions s
		WHERE s.id IN (SELECT subscription_id FROM subscription_patterns
		               WHERE organization_id = ? AND pattern IN (?, ?, ?) AND project_id IN ('', ?))
		  AND NOT s.disabled
		ORDER BY s.id`, organizationID, keys[0], keys[1], keys[2], projectID)
	if err != nil {
		return nil, dbErr("match subscriptions", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("match subscriptions", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("match subscriptions", err)
	}
	return ids, nil
}
