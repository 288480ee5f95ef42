package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/onplana/webhook/internal/storedsecrets"
	"github.com/onplana/webhook/keyring"
)

// stored is the stored form of a subscription's secrets (see package
// storedsecrets).
type stored = storedsecrets.Stored

// prepareSecrets runs in Migrate, after the schema. Without a key ring it
// refuses a database holding sealed secrets and warns that secrets are
// kept in clear. With one, it checks that the ring opens the secrets of
// every key id stored (one subscription per key id), so that a missing or
// wrong key fails at start-up rather than at every claim, and it seals the
// secrets still kept in clear.
func (s *Store) prepareSecrets(ctx context.Context) error {
	if s.keys == nil {
		var sealed int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE secrets_key_id <> ''`).Scan(&sealed); err != nil {
			return err
		}
		if sealed > 0 {
			return fmt.Errorf("%d subscriptions have sealed secrets and Config.Keys is nil: %w", sealed, keyring.ErrKeyMissing)
		}
		s.logger.WarnContext(ctx, "pgstore: signing secrets are stored in clear; set Config.Keys to encrypt them")
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (secrets_key_id) id, secrets_key_id, secrets_sealed
		FROM webhook_subscriptions WHERE secrets_key_id <> '' ORDER BY secrets_key_id, id`)
	if err != nil {
		return err
	}
	var ids []string
	var sts []stored
	for rows.Next() {
		var (
			id string
			st stored
		)
		if err := rows.Scan(&id, &st.KeyID, &st.Sealed); err != nil {
			rows.Close()
			return err
		}
		ids, sts = append(ids, id), append(sts, st)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ids {
		if _, err := storedsecrets.Open(s.keys, ids[i], &sts[i]); err != nil {
			return err
		}
	}
	n, err := s.reseal(ctx, true)
	if n > 0 {
		s.logger.InfoContext(ctx, "pgstore: sealed the signing secrets kept in clear",
			slog.Int("subscriptions", n), slog.String("key_id", s.keys.Current()))
	}
	return err
}

// resealBatch is how many subscriptions one transaction of reseal rewrites.
const resealBatch = 100

// ReencryptSecrets implements keyring.Reencrypter: it seals under the
// current key of Config.Keys the secrets of every subscription sealed under
// another key or kept in clear, in transactions of a hundred subscriptions
// each, while dispatchers keep running. Each batch locks its rows, so an
// UpdateSubscription racing with it waits and is not overwritten. A
// process still running with an older key ring may seal a subscription
// under the old key again: run ReencryptSecrets once every process has the
// new ring, and again until it returns 0, before dropping the old key.
//
// PostgreSQL keeps the rows' earlier versions until VACUUM reclaims them,
// and backups and WAL archives keep theirs: after rotating away from a key
// that leaked, VACUUM webhook_subscriptions and treat older backups as
// holding secrets readable with that key. It returns an error if
// Config.Keys is nil.
func (s *Store) ReencryptSecrets(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, errors.New("pgstore: reencrypt secrets: Config.Keys is nil")
	}
	n, err := s.reseal(ctx, false)
	if err != nil {
		return n, fmt.Errorf("pgstore: reencrypt secrets: %w", err)
	}
	return n, nil
}

// reseal seals under the current key the secrets kept in clear and, unless
// clearOnly, those sealed under another key, in one pass over the
// subscriptions by id. It returns how many it rewrote.
func (s *Store) reseal(ctx context.Context, clearOnly bool) (int, error) {
	total, cursor := 0, ""
	for {
		n := 0
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, secrets, secrets_key_id, secrets_sealed FROM webhook_subscriptions
				WHERE id > $1 AND (secrets_key_id = '' OR NOT $3 AND secrets_key_id <> $2)
				ORDER BY id LIMIT $4 FOR UPDATE`, cursor, s.keys.Current(), clearOnly, resealBatch)
			if err != nil {
				return err
			}
			var (
				ids []string
				sts []stored
			)
			for rows.Next() {
				var (
					id string
					st stored
				)
				if err := rows.Scan(&id, &st.Clear, &st.KeyID, &st.Sealed); err != nil {
					rows.Close()
					return err
				}
				ids, sts = append(ids, id), append(sts, st)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			for i, id := range ids {
				secrets, err := storedsecrets.Open(s.keys, id, &sts[i])
				if err != nil {
					return err
				}
				st, err := storedsecrets.Seal(s.keys, id, secrets)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions
					SET secrets = $2, secrets_key_id = $3, secrets_sealed = $4 WHERE id = $1`,
					id, st.Clear, st.KeyID, st.Sealed); err != nil {
					return err
				}
			}
			n = len(ids)
			if n > 0 {
				cursor = ids[n-1]
			}
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < resealBatch {
			return total, nil
		}
	}
}
