package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/onplana/webhook/internal/storedsecrets"
	"github.com/onplana/webhook/keyring"
)

// stored is the stored form of a subscription's secrets (see package
// storedsecrets). Its Clear goes to a TEXT column as a string.
type stored = storedsecrets.Stored

// prepareSecrets runs at Open, after the migrations. Without a key ring it
// refuses a database holding sealed secrets and warns that secrets are
// kept in clear. With one, it checks that the ring opens the secrets of
// every key id stored (one subscription per key id), so that a missing or
// wrong key fails Open rather than every delivery, and it seals the secrets
// still kept in clear.
func (s *Store) prepareSecrets(ctx context.Context) error {
	if s.keys == nil {
		var sealed int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE secrets_key_id <> ''`).Scan(&sealed); err != nil {
			return err
		}
		if sealed > 0 {
			return fmt.Errorf("%d subscriptions have sealed secrets and Config.Keys is nil: %w", sealed, keyring.ErrKeyMissing)
		}
		s.logger.Warn("sqlitestore: signing secrets are stored in clear; set Config.Keys to encrypt them")
		return nil
	}
	rows, err := s.w.QueryContext(ctx, `SELECT s.id, s.secrets_key_id, s.secrets_sealed FROM subscriptions s
		WHERE s.id IN (SELECT min(id) FROM subscriptions WHERE secrets_key_id <> '' GROUP BY secrets_key_id)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			st stored
		)
		if err := rows.Scan(&id, &st.KeyID, &st.Sealed); err != nil {
			return err
		}
		if _, err := storedsecrets.Open(s.keys, id, &st); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	n, err := s.reseal(ctx, true)
	if n > 0 {
		s.logger.Info("sqlitestore: sealed the signing secrets kept in clear", slog.Int("subscriptions", n), slog.String("key_id", s.keys.Current()))
	}
	return err
}

// resealBatch is how many subscriptions one transaction of reseal rewrites:
// the writer is free between batches.
const resealBatch = 100

// ReencryptSecrets implements keyring.Reencrypter: it seals under the
// current key of Config.Keys the secrets of every subscription sealed under
// another key or kept in clear, a hundred subscriptions per transaction,
// while the store is in use. Then it checkpoints the WAL and truncates it,
// and the rewritten rows leave no trace in free space of the file (the
// store sets SQLite's secure_delete), so the earlier ciphertexts, and
// secrets once kept in clear, are gone from the files once no reader holds
// an older snapshot. It returns an error if Config.Keys is nil.
func (s *Store) ReencryptSecrets(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, errors.New("sqlitestore: reencrypt secrets: Config.Keys is nil")
	}
	n, err := s.reseal(ctx, false)
	if err != nil {
		return n, fmt.Errorf("sqlitestore: reencrypt secrets: %w", err)
	}
	return n, nil
}

// reseal seals under the current key the secrets kept in clear and, unless
// clearOnly, those sealed under another key. It returns how many
// subscriptions it rewrote, and checkpoints the WAL if it rewrote any.
func (s *Store) reseal(ctx context.Context, clearOnly bool) (int, error) {
	where := `secrets_key_id <> ?`
	arg := s.keys.Current()
	if clearOnly {
		where, arg = `secrets_key_id = ?`, ""
	}
	total := 0
	for {
		n := 0
		// Each batch reads and rewrites in one write transaction, so a
		// concurrent UpdateSubscription cannot be overwritten.
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, secrets, secrets_key_id, secrets_sealed FROM subscriptions
				WHERE `+where+` ORDER BY id LIMIT ?`, arg, resealBatch)
			if err != nil {
				return err
			}
			type row struct {
				id string
				st stored
			}
			var batch []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.st.Clear, &r.st.KeyID, &r.st.Sealed); err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range batch {
				secrets, err := storedsecrets.Open(s.keys, r.id, &r.st)
				if err != nil {
					return err
				}
				st, err := storedsecrets.Seal(s.keys, r.id, secrets)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET secrets = ?, secrets_key_id = ?, secrets_sealed = ?
					WHERE id = ?`, string(st.Clear), st.KeyID, st.Sealed, r.id); err != nil {
					return err
				}
			}
			n = len(batch)
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < resealBatch {
			break
		}
	}
	if total > 0 {
		s.truncateWAL(ctx)
	}
	return total, nil
}

// truncateWAL copies the WAL into the database and empties it, so that the
// page images it held (earlier versions of rewritten rows) are gone. A
// reader holding an older snapshot keeps it from completing; the next
// checkpoint SQLite runs on its own then overwrites them over time.
func (s *Store) truncateWAL(ctx context.Context) {
	var busy, logged, done int
	err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done)
	if err != nil || busy != 0 {
		s.logger.Warn("sqlitestore: the WAL could not be truncated after rewriting secrets; earlier versions stay in it until SQLite checkpoints",
			slog.Any("error", err))
	}
}
