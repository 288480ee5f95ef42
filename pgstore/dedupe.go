package pgstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onplana/webhook"
)

// maxDedupeKey bounds a key, well under PostgreSQL's b-tree row limit;
// delivery ids are 30 bytes. Owner tokens have the same bound.
const maxDedupeKey = 255

// DedupeStore is a webhook.DedupeStore in PostgreSQL, for receivers that run
// several instances behind a load balancer: a delivery id claimed or done on
// one instance is seen by all. Expiry is judged by the database server's
// clock, so instances with skewed clocks agree. It uses the table
// webhook_dedupe, created by Migrate. It is safe for concurrent use.
type DedupeStore struct {
	pool *pgxpool.Pool
	s    *Store // for Migrate
}

var _ webhook.DedupeStore = (*DedupeStore)(nil)

// NewDedupeStore returns a DedupeStore over pool. Call Migrate before first
// use (or the Store's Migrate on the same database: they apply the same
// schema).
func NewDedupeStore(pool *pgxpool.Pool) (*DedupeStore, error) {
	s, err := New(pool, nil)
	if err != nil {
		return nil, err
	}
	return &DedupeStore{pool: pool, s: s}, nil
}

// Migrate applies this package's schema, like Store.Migrate: idempotent
// and safe when instances start together.
func (d *DedupeStore) Migrate(ctx context.Context) error { return d.s.migrate(ctx, math.MaxInt) }

func validateDedupe(key string, d time.Duration, field string) error {
	switch {
	case key == "":
		return &webhook.ValidationError{Field: "key", Reason: "is empty"}
	case len(key) > maxDedupeKey:
		return &webhook.ValidationError{Field: "key", Reason: fmt.Sprintf("longer than %d bytes", maxDedupeKey)}
	case d <= 0:
		return &webhook.ValidationError{Field: field, Reason: "must be positive"}
	}
	return nil
}

func validateOwner(owner string) error {
	switch {
	case owner == "":
		return &webhook.ValidationError{Field: "owner", Reason: "is empty"}
	case len(owner) > maxDedupeKey:
		return &webhook.ValidationError{Field: "owner", Reason: fmt.Sprintf("longer than %d bytes", maxDedupeKey)}
	}
	return nil
}

// Claim implements webhook.DedupeStore with one upsert: it inserts an
// in-flight claim held by owner, or takes over an expired one; of
// concurrent Claims of one key, PostgreSQL's row lock lets exactly one
// succeed.
func (d *DedupeStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (webhook.ClaimResult, error) {
	if err := validateDedupe(key, lease, "lease"); err != nil {
		return 0, err
	}
	if err := validateOwner(owner); err != nil {
		return 0, err
	}
	// The fallback SELECT reads the statement's snapshot, which may predate
	// a conflicting row committed meanwhile (or miss one just released):
	// then nothing is returned and the claim is tried again.
	for range 5 {
		rows, err := d.pool.Query(ctx, `WITH ins AS (
				INSERT INTO webhook_dedupe (key, done, owner, expires_at)
				VALUES ($1, false, $3, statement_timestamp() + $2 * interval '1 microsecond')
				ON CONFLICT (key) DO UPDATE SET done = false, owner = excluded.owner, expires_at = excluded.expires_at
				WHERE webhook_dedupe.expires_at <= statement_timestamp()
				RETURNING 0 AS r
			)
			SELECT r FROM ins
			UNION ALL
			SELECT CASE WHEN done THEN 2 ELSE 1 END FROM webhook_dedupe
			WHERE key = $1 AND expires_at > statement_timestamp() AND NOT EXISTS (SELECT 1 FROM ins)`,
			key, lease.Microseconds(), owner)
		if err != nil {
			return 0, dbErr("dedupe claim", err)
		}
		var (
			r   int32
			got bool
		)
		for rows.Next() {
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return 0, dbErr("dedupe claim", err)
			}
			got = true
		}
		if err := rows.Err(); err != nil {
			return 0, dbErr("dedupe claim", err)
		}
		if !got {
			continue
		}
		switch r {
		case 0:
			return webhook.ClaimAcquired, nil
		case 2:
			return webhook.ClaimDone, nil
		default:
			return webhook.ClaimInFlight, nil
		}
	}
	// The key keeps changing under us: someone else is working on it.
	return webhook.ClaimInFlight, nil
}

// finishTimeout bounds Done and Release, which webhook.Idempotency calls
// with a context that has no deadline (see webhook.DedupeStore): a claim left
// in flight blocks the sender's retries for a whole lease, but a hung
// connection must not hold the request forever.
const finishTimeout = 10 * time.Second

// Done implements webhook.DedupeStore with one upsert that turns any claim
// on key into a done mark and leaves an unexpired done mark as it is.
func (d *DedupeStore) Done(ctx context.Context, key string, ttl time.Duration) error {
	if err := validateDedupe(key, ttl, "ttl"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	_, err := d.pool.Exec(ctx, `INSERT INTO webhook_dedupe (key, done, owner, expires_at)
		VALUES ($1, true, '', statement_timestamp() + $2 * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET done = true, owner = '', expires_at = excluded.expires_at
		WHERE NOT (webhook_dedupe.done AND webhook_dedupe.expires_at > statement_timestamp())`,
		key, ttl.Microseconds())
	if err != nil {
		return dbErr("dedupe done", err)
	}
	return nil
}

// Release implements webhook.DedupeStore with a compare-and-delete: the
// row goes only if it is an in-flight claim of owner.
func (d *DedupeStore) Release(ctx context.Context, key, owner string) error {
	if key == "" {
		return &webhook.ValidationError{Field: "key", Reason: "is empty"}
	}
	if err := validateOwner(owner); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	if _, err := d.pool.Exec(ctx, `DELETE FROM webhook_dedupe WHERE key = $1 AND owner = $2 AND NOT done`, key, owner); err != nil {
		return dbErr("dedupe release", err)
	}
	return nil
}

// Prune deletes expired keys, at most batchSize per statement, until none
// is left or ctx ends, and returns how many it deleted. Expired keys are
// already ignored by Claim; Prune only reclaims their space. Run it
// periodically (hourly is plenty).
func (d *DedupeStore) Prune(ctx context.Context, batchSize int) (int64, error) {
	return pruneBatches(ctx, batchSize, func(ctx context.Context) (int64, error) {
		tag, err := d.pool.Exec(ctx, `DELETE FROM webhook_dedupe WHERE key IN (
				SELECT key FROM webhook_dedupe WHERE expires_at <= statement_timestamp()
				LIMIT $1 FOR UPDATE SKIP LOCKED)`, batchSize)
		return tag.RowsAffected(), err
	})
}
