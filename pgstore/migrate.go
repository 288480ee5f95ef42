package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFS holds the schema, one file per version: NNNN_name.sql. A file,
// once released, never changes; a schema change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the advisory lock taken while migrating, so that
// processes starting together apply each migration exactly once. It is an
// arbitrary constant ("webhook" in ASCII) unlikely to collide with the host's
// own advisory locks.
const migrateLockKey int64 = 0x776562686f6f6b

// migration is one versioned schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration file %q: name must be NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("pgstore: two migrations with version %d", out[i].version)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this package's migrations produce.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate brings the database schema up to date by applying, in one
// transaction, every embedded migration not yet recorded in the table
// webhook_schema_migrations. It is idempotent, and safe when several
// processes call it at once: a transaction-scoped advisory lock makes them
// take turns, and the later ones find nothing left to do. Migrate never
// drops data of a version already applied.
//
// Then, with Config.Keys set, it seals the signing secrets kept in clear
// (when a key ring is first configured), and it fails with an error
// wrapping keyring.ErrKeyMissing or keyring.ErrKeyMismatch if the ring
// cannot open secrets sealed earlier: call it at start-up, so that a
// missing or wrong key stops the process before it claims anything.
// Without Config.Keys it logs a warning that secrets are stored in clear,
// and fails with keyring.ErrKeyMissing if some are sealed.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx, math.MaxInt); err != nil {
		return err
	}
	if err := s.prepareSecrets(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// migrate applies the migrations up to version upTo; tests stop short of
// the latest to check that a database of an earlier version upgrades.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS webhook_schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT version FROM webhook_schema_migrations")
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		done := make(map[int]bool, len(applied))
		for _, v := range applied {
			done[int(v)] = true
		}
		for _, m := range ms {
			if done[m.version] || m.version > upTo {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO webhook_schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return err
			}
			s.logger.InfoContext(ctx, "pgstore: applied migration", "migration", m.name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
