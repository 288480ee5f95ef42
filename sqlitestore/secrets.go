package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
)

// stored is the stored form of a subscription's secrets: in clear, as
// JSON in clear with keyID empty; sealed (see keyring.Ring), as "[]" in
// clear with the key id and the ciphertext.
type stored struct {
	clear  string
	keyID  string
	sealed []byte
}

// storedSecret is the clear form of a webhook.SigningSecret, which
// marshals to a redacted placeholder on purpose.
type storedSecret struct {
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// sealSecrets returns the stored form of the secrets of subscription id:
// sealed under the current key when the store has a key ring.
func (s *Store) sealSecrets(id string, ss []webhook.SigningSecret) (stored, error) {
	if s.keys != nil {
		keyID, sealed, err := webhook.SealSecrets(s.keys, id, ss)
		return stored{clear: "[]", keyID: keyID, sealed: sealed}, err
	}
	out := make([]storedSecret, len(ss))
	for i, s := range ss {
		out[i] = storedSecret{Secret: s.Secret.Reveal(), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	}
	b, err := json.Marshal(out)
	return stored{clear: string(b)}, err
}

// openSecrets returns the secrets of subscription id from their stored
// form, or a *keyring.KeyError.
func (s *Store) openSecrets(id string, st *stored) ([]webhook.SigningSecret, error) {
	if st.keyID != "" {
		return webhook.OpenSecrets(s.keys, id, st.keyID, st.sealed)
	}
	var in []storedSecret
	if err := json.Unmarshal([]byte(st.clear), &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]webhook.SigningSecret, len(in))
	for i, s := range in {
		out[i] = webhook.SigningSecret{Secret: webhook.Secret(s.Secret), CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return out, nil
}

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
		if err := rows.Scan(&id, &st.keyID, &st.sealed); err != nil {
			return err
		}
		if _, err := s.openSecrets(id, &st); err != nil {
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
				if err := rows.Scan(&r.id, &r.st.clear, &r.st.keyID, &r.st.sealed); err != nil {
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
				secrets, err := s.openSecrets(r.id, &r.st)
				if err != nil {
					return err
				}
				st, err := s.sealSecrets(r.id, secrets)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET secrets = ?, secrets_key_id = ?, secrets_sealed = ?
					WHERE id = ?`, st.clear, st.keyID, st.sealed, r.id); err != nil {
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
