package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
)

// deliveryFrom joins each delivery to its queue row, if it has one: the
// delivery row does not record that it is being delivered (schema 0003),
// its queue row's lease does.
const deliveryFrom = `webhook_deliveries d LEFT JOIN webhook_queue q ON q.delivery_id = d.id`

// deliveryColumns reads a delivery from deliveryFrom. A delivery whose queue
// row holds a lease is StateDelivering with that lease, last updated when
// it was claimed; otherwise its row's state and updated_at hold.
const deliveryColumns = `d.id, d.event_id, d.event_type, d.subscription_id, d.organization_id, d.project_id, d.body,
	CASE WHEN q.lease_expires_at IS NULL THEN d.state ELSE 'delivering' END,
	d.attempt_count, d.next_attempt_at, q.lease_expires_at, d.last_status_code, d.last_error, d.created_at,
	CASE WHEN q.lease_expires_at IS NULL THEN d.updated_at ELSE coalesce(q.claimed_at, d.updated_at) END,
	d.trace_context`

// scanDelivery reads one row of deliveryColumns.
func scanDelivery(row pgx.Row) (*webhook.Delivery, error) {
	var (
		d     webhook.Delivery
		lease *time.Time
	)
	err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.SubscriptionID, &d.OrganizationID, &d.ProjectID,
		&d.Body, &d.State, &d.AttemptCount, &d.NextAttemptAt, &lease, &d.LastStatusCode, &d.LastError,
		&d.CreatedAt, &d.UpdatedAt, &d.TraceContext)
	if err != nil {
		return nil, err
	}
	d.NextAttemptAt = d.NextAttemptAt.UTC()
	d.LeaseExpiresAt = fromNull(lease)
	d.CreatedAt = d.CreatedAt.UTC()
	d.UpdatedAt = d.UpdatedAt.UTC()
	return &d, nil
}

func collectDeliveries(rows pgx.Rows) ([]*webhook.Delivery, error) {
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

// Enqueue stores the deliveries in StatePending, all or none, with one
// statement that also sends a NOTIFY on the store's channel, so idle
// dispatchers in every process wake up. It sets State, UpdatedAt, and
// CreatedAt when zero, on each delivery. Deliveries of a disabled (or
// unknown) subscription wait until it is enabled. It returns an error
// wrapping webhook.ErrConflict if an ID exists or repeats in the batch.
func (s *Store) Enqueue(ctx context.Context, deliveries []*webhook.Delivery) error {
	if err := enqueue(ctx, s.pool, s.channel, ts(s.now()), deliveries); err != nil {
		return err
	}
	if len(deliveries) > 0 {
		s.signal()
	}
	return nil
}

// enqueue inserts deliveries through q (the pool, or the caller's
// transaction for PublishTx, whose NOTIFY then fires only on commit).
//
// The rows come from unnest over array parameters, which a generic plan
// assumes hold 10 elements; a custom plan sees the real count, usually 1,
// and looked cheaper every time, so PostgreSQL planned every enqueue
// afresh, which took longer than running the statement. The LIMIT, a
// constant at least len(deliveries) that cuts nothing, gives the generic
// plan the real count (rounded up to a power of two, so that a few
// prepared statements serve every batch size).
func enqueue(ctx context.Context, q querier, channel string, now time.Time, deliveries []*webhook.Delivery) error {
	n := len(deliveries)
	if n == 0 {
		return nil
	}
	var (
		ids, events, types, subs, orgs, projects = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		traces                                   = make([]string, n)
		bodies                                   = make([][]byte, n)
		counts                                   = make([]int32, n)
		next, created, updated                   = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	)
	for i, d := range deliveries {
		if err := webhook.ValidateDelivery(d); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
		ids[i], events[i], types[i], subs[i] = d.ID, d.EventID, string(d.EventType), d.SubscriptionID
		orgs[i], projects[i], bodies[i], counts[i] = d.OrganizationID, d.ProjectID, d.Body, int32(d.AttemptCount)
		next[i], created[i], updated[i] = ts(d.NextAttemptAt), ts(d.CreatedAt), now
		traces[i] = d.TraceContext
		if d.CreatedAt.IsZero() {
			created[i] = now
		}
	}
	_, err := q.Exec(ctx, `WITH ins AS (
			INSERT INTO webhook_deliveries (id, event_id, event_type, subscription_id, organization_id,
				project_id, body, state, attempt_count, next_attempt_at, created_at, updated_at, trace_context)
			SELECT id, ev, typ, sub, org, proj, body, 'pending', cnt, nxt, cre, upd, tc
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::bytea[], $8::int[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $13::text[])
				AS t(id, ev, typ, sub, org, proj, body, cnt, nxt, cre, upd, tc)
			LIMIT `+strconv.Itoa(batchBound(n))+`
			RETURNING id, subscription_id, next_attempt_at, attempt_count
		), queued AS (
			INSERT INTO webhook_queue (delivery_id, subscription_id, due_at, attempt_count, held)
			SELECT id, subscription_id, next_attempt_at, attempt_count,
				NOT EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = ins.subscription_id AND NOT s.disabled)
			FROM ins
			RETURNING 1
		)
		SELECT pg_notify($12, '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_row`,
		ids, events, types, subs, orgs, projects, bodies, counts, next, created, updated, channel, traces)
	if isUniqueViolation(err) {
		return conflict("enqueue", "a delivery id exists or repeats in the batch")
	}
	if err != nil {
		return dbErr("enqueue", err)
	}
	for i, d := range deliveries {
		d.State, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = webhook.StatePending, next[i], created[i], updated[i]
		d.LeaseExpiresAt = time.Time{}
	}
	return nil
}

// Claim leases up to limit due deliveries in one statement: a CTE selects
// from the queue table pending ones due at now and delivering ones whose
// lease expired before now, oldest due first, FOR UPDATE SKIP LOCKED, and
// the statement leases those queue rows, which makes the deliveries
// StateDelivering with LeaseExpiresAt = now+lease, and reads them with
// their subscriptions; deliveries of disabled subscriptions are skipped. Concurrent claimers, in this process
// or others, skip each other's rows instead of waiting, and never receive
// the same delivery under the same lease. Reclaiming an expired lease is
// where a delivery can be sent twice.
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	if limit <= 0 {
		return nil, &webhook.ValidationError{Field: "limit", Reason: "must be positive"}
	}
	if lease <= 0 {
		return nil, &webhook.ValidationError{Field: "lease", Reason: "must be positive"}
	}
	now = ts(now)
	return s.claim(ctx, now, limit, lease, skip)
}

// claimHead and claimTail are the claim statement around its limit: $1 is
// now, $2 the lease's expiry, $3 the subscriptions to skip.
var (
	claimHead = `WITH due AS (
			SELECT delivery_id FROM webhook_queue q
			WHERE NOT held AND due_at <= $1
			  AND NOT (lease_expires_at IS NOT NULL AND due_at = $1)
			  -- held covers disabled subscriptions; this covers a disable
			  -- racing with an enqueue.
			  AND EXISTS (SELECT 1 FROM webhook_subscriptions s
			              WHERE s.id = q.subscription_id AND NOT s.disabled)
			  AND q.subscription_id <> ALL ($3::text[])
			ORDER BY due_at
			LIMIT `
	claimTail = `
			FOR UPDATE SKIP LOCKED
		), leased AS (
			UPDATE webhook_queue AS q SET lease_expires_at = $2, due_at = $2, claimed_at = $1
			WHERE q.delivery_id = ANY (ARRAY(SELECT delivery_id FROM due))
			RETURNING q.delivery_id, q.attempt_count
		)
		SELECT d.id, d.event_id, d.event_type, d.subscription_id, d.organization_id, d.project_id, d.body,
			'delivering', d.attempt_count, d.next_attempt_at, $2::timestamptz, d.last_status_code,
			d.last_error, d.created_at, $1::timestamptz, d.trace_context, leased.attempt_count, ` + qualify("s", subscriptionColumns) + `
		FROM leased
		JOIN webhook_deliveries d ON d.id = leased.delivery_id
		JOIN webhook_subscriptions s ON s.id = d.subscription_id
		WHERE d.id = ANY (ARRAY(SELECT delivery_id FROM leased))`
)

// claim runs the claim statement. Only the narrow queue row is written
// (lease, due time, claim time); the delivery rows are read, with the
// subscription of each, in the statement's snapshot and without a lock
// (locking them FOR SHARE, a write per delivery, cost PostgreSQL about
// 8 µs per delivery). A Complete that requeued a delivery due at once and
// committed between that snapshot and the queue row's lock leaves a
// delivery row older than the queue row: it would hand out the previous
// attempt count, and the next attempt would repeat its number. The queue
// row keeps a copy of the attempt count, from the version Claim locked
// (PostgreSQL rechecks a row updated since the snapshot and locks its
// latest version), so such a delivery is told apart and read again, in a
// statement of its own, whose snapshot has the Complete. It happens only
// when a lease expired while its holder was completing the delivery.
//
// The statement is planned at every claim, with its arguments
// (QueryExecModeCacheDescribe: an unnamed statement, still one round
// trip), never from a cached generic plan. A generic plan made while the
// queue was empty or small (an idle dispatcher polls it) sorts and scans
// the whole queue, and PostgreSQL keeps it until the table is analyzed
// again: a backlog arriving after a quiet night would be read whole at
// every claim. A fresh plan sees the table's current size. The rows
// leased and their deliveries are looked up by primary key from arrays
// (= ANY), which the planner turns into index scans whatever statistics
// it has, where a join could hash a sequential scan of the queue or of
// the whole delivery log. TestClaimPlanUsesIndex checks the plans.
func (s *Store) claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	until := ts(now.Add(lease))
	if skip == nil {
		skip = []string{} // <> ALL (NULL) is NULL: it would skip everything
	}
	rows, err := s.pool.Query(ctx, claimHead+strconv.Itoa(limit)+claimTail, pgx.QueryExecModeCacheDescribe, now, until, skip)
	if err != nil {
		return nil, dbErr("claim", err)
	}
	ds, subs, stale, err := collectClaimed(rows, s.keys)
	if err != nil {
		return nil, dbErr("claim", err)
	}
	for _, i := range stale {
		d, err := s.GetDelivery(ctx, ds[i].ID) // delivering, under the lease just taken
		if err != nil {
			// Leased but unread: it is claimed again when the lease expires.
			return nil, fmt.Errorf("pgstore: claim: read %s again: %w", ds[i].ID, err)
		}
		ds[i] = d
	}
	slices.SortFunc(ds, func(a, b *webhook.Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]webhook.Claimed, len(ds))
	for i, d := range ds {
		out[i] = webhook.Claimed{Delivery: d, Subscription: subs[d.SubscriptionID]}
	}
	return out, nil
}

// claimedSubscriptionID is the column of the claim statement that holds
// the subscription id.
const claimedSubscriptionID = 3

// collectClaimed reads the rows of the claim statement: a delivery as
// deliveryColumns reads it, the attempt count of its queue row, then
// subscriptionColumns. It returns the deliveries, their subscriptions, and
// the indexes of the deliveries whose row is older than their queue row
// (see claim). The rows of one subscription carry the same values (one
// statement, one snapshot): they are decoded from its first row only, and
// its secrets opened with keys.
func collectClaimed(rows pgx.Rows, keys *keyring.Ring) (out []*webhook.Delivery, subs map[string]*webhook.Subscription, stale []int, err error) {
	defer rows.Close()
	var (
		lease       *time.Time
		queuedCount int
		sub         rawSubscription
		d           webhook.Delivery
	)
	subs = make(map[string]*webhook.Subscription, 1)
	subDest := sub.dest()
	dest := append([]any{&d.ID, &d.EventID, &d.EventType, &d.SubscriptionID, &d.OrganizationID, &d.ProjectID,
		&d.Body, &d.State, &d.AttemptCount, &d.NextAttemptAt, &lease, &d.LastStatusCode, &d.LastError,
		&d.CreatedAt, &d.UpdatedAt, &d.TraceContext, &queuedCount}, subDest...)
	// The same destinations, but nil (skipped, not decoded) for the
	// subscription's columns.
	known := slices.Clone(dest)
	clear(known[len(dest)-len(subDest):])
	for rows.Next() {
		d, lease = webhook.Delivery{}, nil
		target := dest
		if raw := rows.RawValues(); len(raw) > claimedSubscriptionID {
			if _, ok := subs[string(raw[claimedSubscriptionID])]; ok {
				target = known
			}
		}
		if err := rows.Scan(target...); err != nil {
			return nil, nil, nil, err
		}
		d.NextAttemptAt = d.NextAttemptAt.UTC()
		d.LeaseExpiresAt = fromNull(lease)
		d.CreatedAt = d.CreatedAt.UTC()
		d.UpdatedAt = d.UpdatedAt.UTC()
		if d.AttemptCount != queuedCount {
			stale = append(stale, len(out))
		}
		dc := d
		out = append(out, &dc)
		if _, ok := subs[d.SubscriptionID]; !ok {
			s, err := sub.subscription(keys)
			if err != nil {
				return nil, nil, nil, err
			}
			subs[d.SubscriptionID] = s
		}
	}
	return out, subs, stale, rows.Err()
}

// qualify prefixes each column of a comma-separated list with table.
func qualify(table, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = table + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// Complete records attempt a of delivery d and stores d's
// new state in one statement that succeeds only while d is delivering under
// the lease the caller holds (d.LeaseExpiresAt as claimed). Otherwise it
// returns webhook.ErrLeaseLost, or webhook.ErrNotFound if the delivery no
// longer exists. On success d's LeaseExpiresAt is cleared and its UpdatedAt
// set. Concurrent Completes are written together in one statement (see
// complete.go). If the connection to PostgreSQL fails (a restart, a network blip),
// Complete tries again until ctx ends, so the result of an attempt made
// during an outage is kept rather than re-sent after the lease expires.
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
		return &webhook.ValidationError{Field: "State", Reason: fmt.Sprintf("%q is not pending, succeeded or failed", d.State)}
	}
	now := ts(s.now())
	err := s.completer.Do(ctx, &completion{d: d, a: a, now: now})
	if errors.Is(err, errNotUpdated) {
		return s.lostOrMissing(ctx, "complete", d.ID)
	}
	if err != nil {
		return err
	}
	d.LeaseExpiresAt, d.UpdatedAt, d.NextAttemptAt = time.Time{}, now, ts(d.NextAttemptAt)
	if a.DeliveryID == "" {
		a.DeliveryID = d.ID
	}
	if d.State == webhook.StatePending && !d.NextAttemptAt.After(now) {
		s.signal()
	}
	return nil
}

// lostOrMissing explains why an update guarded by a lease changed nothing.
func (s *Store) lostOrMissing(ctx context.Context, op, id string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbErr(op, err)
	}
	if !exists {
		return dbErr(op, pgx.ErrNoRows)
	}
	return fmt.Errorf("pgstore: %s %s: %w", op, id, webhook.ErrLeaseLost)
}

// Release returns delivery d, which the caller holds, to StatePending, due
// at at, without recording an attempt, and sends a NOTIFY. Like Complete it
// returns webhook.ErrLeaseLost if the caller no longer holds the lease, and
// retries through a lost connection until ctx ends.
func (s *Store) Release(ctx context.Context, d *webhook.Delivery, at time.Time) error {
	if d == nil || d.ID == "" {
		return &webhook.ValidationError{Field: "Delivery", Reason: "is nil or has no ID"}
	}
	now, at := ts(s.now()), ts(at)
	var n int
	err := retryLost(ctx, func() error {
		return s.pool.QueryRow(ctx, `WITH queued AS (
			UPDATE webhook_queue SET due_at = $2, lease_expires_at = NULL, claimed_at = NULL
			WHERE delivery_id = $1 AND lease_expires_at = $4
			RETURNING delivery_id
		), upd AS (
			UPDATE webhook_deliveries d SET next_attempt_at = $2, updated_at = $3
			FROM queued WHERE d.id = queued.delivery_id
			RETURNING 1
		), notified AS (
			SELECT pg_notify($5, '') FROM upd
		)
		SELECT (SELECT count(*) FROM upd) + 0 * (SELECT count(*) FROM notified)`,
			d.ID, at, now, ts(d.LeaseExpiresAt), s.channel).Scan(&n)
	})
	if err != nil {
		return dbErr("release", err)
	}
	if n == 0 {
		return s.lostOrMissing(ctx, "release", d.ID)
	}
	d.State, d.NextAttemptAt, d.LeaseExpiresAt, d.UpdatedAt = webhook.StatePending, at, time.Time{}, now
	s.signal()
	return nil
}

// GetDelivery returns the delivery with id, or webhook.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id string) (*webhook.Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM `+deliveryFrom+` WHERE d.id = $1`, id))
	if err != nil {
		return nil, dbErr("get delivery", err)
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
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.OrganizationID != "" {
		add("d.organization_id = ?", q.OrganizationID)
	}
	if q.SubscriptionID != "" {
		add("d.subscription_id = ?", q.SubscriptionID)
	}
	switch q.State {
	case "":
	case webhook.StateDelivering:
		where = append(where, "q.lease_expires_at IS NOT NULL")
	case webhook.StatePending:
		where = append(where, "d.state = 'pending' AND q.lease_expires_at IS NULL")
	default:
		add("d.state = ?", string(q.State))
	}
	if q.EventType != "" {
		add("d.event_type = ?", string(q.EventType))
	}
	if !q.CreatedAfter.IsZero() {
		add("d.created_at >= ?", ts(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		// A bound inside a microsecond still excludes that microsecond's
		// rows only if they are at or after it: round up.
		add("d.created_at < ?", ceilMicro(q.CreatedBefore))
	}
	if q.Page.Cursor != "" {
		add("d.id < ?", q.Page.Cursor)
	}
	sql := `SELECT ` + deliveryColumns + ` FROM ` + deliveryFrom
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, size+1)
	sql += ` ORDER BY d.id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, sql, args...)
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

// batchBound returns the smallest power of two at least n, the LIMIT of
// the enqueue statement for n deliveries.
func batchBound(n int) int {
	b := 1
	for b < n {
		b <<= 1
	}
	return b
}

// ceilMicro rounds t up to the microsecond.
func ceilMicro(t time.Time) time.Time {
	c := ts(t)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// ListAttempts returns the attempts of a delivery, oldest first. It
// returns webhook.ErrNotFound if the delivery does not exist.
func (s *Store) ListAttempts(ctx context.Context, deliveryID string) ([]*webhook.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, started_at, duration_ns, status_code, error_class,
			error, response_snippet
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number, started_at`, deliveryID)
	if err != nil {
		return nil, dbErr("list attempts", err)
	}
	defer rows.Close()
	var out []*webhook.Attempt
	for rows.Next() {
		a := &webhook.Attempt{DeliveryID: deliveryID}
		var dur int64
		if err := rows.Scan(&a.Number, &a.StartedAt, &dur, &a.StatusCode, &a.ErrorClass, &a.Error, &a.ResponseSnippet); err != nil {
			return nil, dbErr("list attempts", err)
		}
		a.StartedAt, a.Duration = a.StartedAt.UTC(), time.Duration(dur)
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

// Redeliver implements webhook.DeliveryStore: it moves a succeeded or
// failed delivery back to StatePending, due at at, keeping its id, body,
// attempt count and attempts, and sends a NOTIFY. It returns
// webhook.ErrNotFound if there is no such delivery, and an error wrapping
// webhook.ErrConflict if it is pending or delivering or its subscription
// was deleted.
func (s *Store) Redeliver(ctx context.Context, id string, at time.Time) error {
	now, at := ts(s.now()), ts(at)
	var n int
	err := s.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = $2, updated_at = $3
			FROM webhook_subscriptions s
			WHERE d.id = $1 AND d.state IN ('succeeded', 'failed') AND s.id = d.subscription_id
			RETURNING d.id, d.subscription_id, d.attempt_count, s.disabled
		), queued AS (
			INSERT INTO webhook_queue (delivery_id, subscription_id, due_at, attempt_count, held)
			SELECT id, subscription_id, $2, attempt_count, disabled FROM upd
			RETURNING 1
		), notified AS (
			SELECT pg_notify($4, '') FROM queued
		)
		SELECT (SELECT count(*) FROM queued) + 0 * (SELECT count(*) FROM notified)`,
		id, at, now, s.channel).Scan(&n)
	if err != nil {
		return dbErr("redeliver", err)
	}
	if n == 0 {
		d, err := s.GetDelivery(ctx, id)
		if err != nil {
			return err
		}
		if d.State == webhook.StateSucceeded || d.State == webhook.StateFailed {
			return conflict("redeliver", "the subscription of delivery "+id+" was deleted")
		}
		return conflict("redeliver", "delivery "+id+" is "+string(d.State))
	}
	s.signal()
	return nil
}
