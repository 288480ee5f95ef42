package pgstore_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/keyring"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/storetest"
)

// reopener returns a function that opens a Store over pool with a key ring
// and migrates it, closing the store it opened before; the last one is
// closed when the test ends.
func reopener(t *testing.T, pool *pgxpool.Pool) func(keys *keyring.Ring) (*pgstore.Store, error) {
	var s *pgstore.Store
	closeLast := func() {
		if s != nil {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			s = nil
		}
	}
	t.Cleanup(closeLast)
	return func(keys *keyring.Ring) (*pgstore.Store, error) {
		closeLast()
		var err error
		s, err = pgstore.New(pool, &pgstore.Config{Keys: keys, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		return s, s.Migrate(t.Context())
	}
}

func TestEncryption(t *testing.T) {
	t.Parallel()
	storetest.RunEncryption(t, func(t *testing.T) storetest.OpenFunc {
		open := reopener(t, pgtest.NewSchemaPool(t))
		return func(keys *keyring.Ring) (webhook.Store, error) {
			s, err := open(keys)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	})
}

// TestSecretsNotInDump selects every row of every table of the store's
// schema as text, as pg_dump would write it, and greps it for every form of
// the signing secrets.
func TestSecretsNotInDump(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewSchemaPool(t)
	open := reopener(t, pool)
	storetest.RunSecretsAtRest(t, func(keys *keyring.Ring) webhook.Store {
		s, err := open(keys)
		require.NoError(t, err)
		return s
	}, func() []byte { return dumpSchema(t, pool) })
}

// dumpSchema returns every row of every table of the pool's schema, as
// text.
func dumpSchema(t *testing.T, pool *pgxpool.Pool) []byte {
	t.Helper()
	ctx := t.Context()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "webhook_subscriptions")
	var dump bytes.Buffer
	for _, table := range tables {
		rows, err := pool.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		for _, l := range lines {
			dump.WriteString(table + ": " + l + "\n")
		}
	}
	return dump.Bytes()
}

// TestMigrateSaysSecretsAreInClear: without a key ring, Migrate logs that
// signing secrets are stored in clear; with one it does not.
func TestMigrateSaysSecretsAreInClear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys *keyring.Ring
		want bool
	}{
		{"no key ring", nil, true},
		{"key ring", storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s, err := pgstore.New(pgtest.NewSchemaPool(t), &pgstore.Config{
				Keys: tt.keys, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			require.NoError(t, err)
			require.NoError(t, s.Migrate(t.Context()))
			require.Equal(t, tt.want, bytes.Contains(logs.Bytes(), []byte("signing secrets are stored in clear")), logs.String())
		})
	}
}

// TestDedupeStoreMigratesBesideSealedSecrets: a DedupeStore, which has no
// key ring, migrates a database whose subscriptions' secrets are sealed.
func TestDedupeStoreMigratesBesideSealedSecrets(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewSchemaPool(t)
	s, err := reopener(t, pool)(storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()}))
	require.NoError(t, err)
	require.NoError(t, s.CreateSubscription(t.Context(), storetest.NewSubscription(storetest.NewIDGenerator(storetest.BaseTime), "org_1", "", "*")))
	d, err := pgstore.NewDedupeStore(pool)
	require.NoError(t, err)
	require.NoError(t, d.Migrate(t.Context()))
}
