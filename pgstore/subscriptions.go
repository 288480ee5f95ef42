package pgstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/eventpattern"
	"github.com/onplana/webhook/internal/storedsecrets"
	"github.com/onplana/webhook/keyring"
)

const subscriptionColumns = `id, organization_id, project_id, url, event_types, description,
	disabled, disabled_reason, secrets, secrets_key_id, secrets_sealed, failing_since, created_at, updated_at`

// rawSubscription is one row of subscriptionColumns as scanned.
type rawSubscription struct {
	sub     webhook.Subscription
	secrets stored
	failing *time.Time
}

// dest returns the scan destinations of subscriptionColumns.
func (r *rawSubscription) dest() []any {
	s := &r.sub
	return []any{&s.ID, &s.OrganizationID, &s.ProjectID, &s.URL, &s.EventTypes, &s.Description, &s.Disabled,
		&s.DisabledReason, &r.secrets.Clear, &r.secrets.KeyID, &r.secrets.Sealed, &r.failing, &s.CreatedAt, &s.UpdatedAt}
}

// subscription decodes the scanned row into a new Subscription, opening
// its secrets with keys.
func (r *rawSubscription) subscription(keys *keyring.Ring) (*webhook.Subscription, error) {
	sub := r.sub
	// The next row may be scanned into the same slice.
	sub.EventTypes = slices.Clone(r.sub.EventTypes)
	var err error
	if sub.Secrets, err = storedsecrets.Open(keys, sub.ID, &r.secrets); err != nil {
		return nil, err
	}
	sub.FailingSince = fromNull(r.failing)
	sub.CreatedAt = sub.CreatedAt.UTC()
	sub.UpdatedAt = sub.UpdatedAt.UTC()
	return &sub, nil
}

// scanSubscription reads one row of subscriptionColumns, opening its
// secrets with keys.
func scanSubscription(row pgx.Row, keys *keyring.Ring) (*webhook.Subscription, error) {
	var r rawSubscription
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.subscription(keys)
}

func collectSubscriptions(rows pgx.Rows, keys *keyring.Ring) ([]*webhook.Subscription, error) {
	defer rows.Close()
	var out []*webhook.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows, keys)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// CreateSubscription implements webhook.SubscriptionStore. It returns an
// error wrapping webhook.ErrConflict if the ID exists.
func (s *Store) CreateSubscription(ctx context.Context, sub *webhook.Subscription) error {
	if err := webhook.ValidateSubscription(sub); err != nil {
		return err
	}
	secrets, err := storedsecrets.Seal(s.keys, sub.ID, sub.Secrets)
	if err != nil {
		return dbErr("create subscription", err)
	}
	now := ts(s.now())
	_, err = s.pool.Exec(ctx, `INSERT INTO webhook_subscriptions
		(id, organization_id, project_id, url, event_types, description, disabled, disabled_reason,
		 secrets, secrets_key_id, secrets_sealed, failing_since, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		sub.ID, sub.OrganizationID, sub.ProjectID, sub.URL, sub.EventTypes, sub.Description,
		sub.Disabled, sub.DisabledReason, secrets.Clear, secrets.KeyID, secrets.Sealed, nullTime(sub.FailingSince), now)
	if isUniqueViolation(err) {
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
	sub, err := scanSubscription(s.pool.QueryRow(ctx,
		`SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1`, id), s.keys)
	if err != nil {
		return nil, dbErr("get subscription "+id, err)
	}
	return sub, nil
}

// ListSubscriptions implements webhook.SubscriptionStore: ascending id,
// the cursor being the last id of the previous page.
func (s *Store) ListSubscriptions(ctx context.Context, organizationID string, page webhook.Page) ([]*webhook.Subscription, string, error) {
	size, err := page.Size()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions
		WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		organizationID, page.Cursor, size+1)
	if err != nil {
		return nil, "", dbErr("list subscriptions", err)
	}
	out, err := collectSubscriptions(rows, s.keys)
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
// statement it holds the subscription's waiting deliveries when it is
// disabled and frees them (with a NOTIFY) when it is enabled.
func (s *Store) UpdateSubscription(ctx context.Context, sub *webhook.Subscription) error {
	if err := webhook.ValidateSubscription(sub); err != nil {
		return err
	}
	secrets, err := storedsecrets.Seal(s.keys, sub.ID, sub.Secrets)
	if err != nil {
		return dbErr("update subscription", err)
	}
	now := ts(s.now())
	var (
		created time.Time
		freed   int
	)
	err = s.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE webhook_subscriptions SET
				project_id = $3, url = $4, event_types = $5, description = $6, disabled = $7,
				disabled_reason = $8, secrets = $9, secrets_key_id = $13, secrets_sealed = $14,
				failing_since = $10, updated_at = greatest($11, created_at)
			WHERE id = $1 AND organization_id = $2
			RETURNING id, disabled, created_at
		), held AS (
			-- By the queue's own subscription_id: a scan of the queue (the
			-- pending and delivering deliveries of every subscription), not
			-- of this subscription's whole delivery log.
			UPDATE webhook_queue q SET held = upd.disabled
			FROM upd
			WHERE q.subscription_id = upd.id AND q.held <> upd.disabled
			RETURNING q.held
		), notified AS (
			SELECT pg_notify($12, '') FROM held WHERE NOT held LIMIT 1
		)
		SELECT created_at, (SELECT count(*) FROM notified) FROM upd`,
		sub.ID, sub.OrganizationID, sub.ProjectID, sub.URL, sub.EventTypes, sub.Description,
		sub.Disabled, sub.DisabledReason, secrets.Clear, nullTime(sub.FailingSince), now, s.channel,
		secrets.KeyID, secrets.Sealed,
	).Scan(&created, &freed)
	if errors.Is(err, pgx.ErrNoRows) {
		var org string
		err := s.pool.QueryRow(ctx, `SELECT organization_id FROM webhook_subscriptions WHERE id = $1`, sub.ID).Scan(&org)
		if err != nil {
			return dbErr("update subscription "+sub.ID, err)
		}
		return &webhook.ValidationError{Field: "OrganizationID", Reason: "cannot change"}
	}
	if err != nil {
		return dbErr("update subscription", err)
	}
	sub.CreatedAt, sub.UpdatedAt = created.UTC(), now
	if sub.UpdatedAt.Before(sub.CreatedAt) {
		sub.UpdatedAt = sub.CreatedAt
	}
	if freed > 0 {
		s.signal()
	}
	return nil
}

// DeleteSubscription implements webhook.SubscriptionStore: it deletes the
// subscription and its pending deliveries and holds the ones being
// attempted, which stay in the log but are never claimed again.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	var n int
	err := s.pool.QueryRow(ctx, `WITH sub AS (
			DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING id
		), dequeued AS (
			-- The queue row first, as Claim locks it before the delivery;
			-- found by the queue's own subscription_id (see UpdateSubscription).
			DELETE FROM webhook_queue q
			WHERE q.subscription_id IN (SELECT id FROM sub) AND q.lease_expires_at IS NULL
			RETURNING q.delivery_id
		), pending AS (
			DELETE FROM webhook_deliveries WHERE id IN (SELECT delivery_id FROM dequeued)
		), attempts AS (
			DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT delivery_id FROM dequeued)
		), inflight AS (
			UPDATE webhook_queue q SET held = true
			WHERE q.subscription_id IN (SELECT id FROM sub) AND q.lease_expires_at IS NOT NULL
		)
		SELECT count(*) FROM sub`, id).Scan(&n)
	if err != nil {
		return dbErr("delete subscription", err)
	}
	if n == 0 {
		return dbErr("delete subscription "+id, pgx.ErrNoRows)
	}
	return nil
}

// MatchSubscriptionIDs implements webhook.SubscriptionStore. It looks
// subscriptions up through the (organization_id, project_id) index and
// filters them with the GIN index on event_types, in ascending id order.
func (s *Store) MatchSubscriptionIDs(ctx context.Context, organizationID, projectID string, typ webhook.EventType) ([]string, error) {
	return matchSubscriptionIDs(ctx, s.pool, organizationID, projectID, typ)
}

func matchSubscriptionIDs(ctx context.Context, q querier, organizationID, projectID string, typ webhook.EventType) ([]string, error) {
	keys := eventpattern.Keys(string(typ))
	rows, err := q.Query(ctx, `SELECT id FROM webhook_subscriptions
		WHERE organization_id = $1 AND project_id IN ('', $2) AND NOT disabled
		  AND event_types && $3::text[]
		ORDER BY id`, organizationID, projectID, keys[:])
	if err != nil {
		return nil, dbErr("match subscriptions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr("match subscriptions", err)
	}
	return ids, nil
}
