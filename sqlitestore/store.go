// Package sqlitestore is a durable webhook.Store in one SQLite file, for a
// single process that must not lose deliveries when it restarts or crashes.
// It uses modernc.org/sqlite, a pure-Go SQLite (no cgo).
//
//	store, err := sqlitestore.Open("webhooks.db", nil)
//	defer store.Close()
//	d, err := webhook.NewDispatcher(store, cfg)
//
// The database runs in WAL mode, so readers (the delivery log) never wait
// for the writer. SQLite allows one writer at a time; the Store sends every
// write through a single connection, in BEGIN IMMEDIATE transactions, so
// writes queue in the process instead of failing with SQLITE_BUSY, and a
// busy timeout covers other programs (a backup, the sqlite3 shell) touching
// the file. Claim is one UPDATE … RETURNING statement on that connection, so
// two workers never hold one delivery. After a crash, deliveries that were
// being attempted are claimed again when their lease expires: a receiver
// may then see them twice, which is why receivers deduplicate by id.
//
// The database file, its WAL and its shared-memory file are created
// readable by their owner only (0600): they hold the delivery log and, unless
// Config.Keys seals them, the subscriptions' signing secrets. Open warns
// when an existing file is readable by others.
//
// With Config.Keys, each subscription's signing secrets are sealed with
// AES-256-GCM (see keyring.Ring), the key id beside the ciphertext. Open
// seals the secrets an earlier version kept in clear, and refuses a
// database whose secrets the ring cannot open. To rotate the key, open the
// store with a ring holding the new key as current and the old one beside
// it, call ReencryptSecrets, then drop the old key.
//
// One process only: several processes sharing the file would be correct
// (SQLite locks it) but would wake each other only by polling; use pgstore
// for that.
//
// sqlitestore is a module of its own (go get
// github.com/onplana/webhook/sqlitestore), so only programs that use it have
// modernc.org/sqlite in their module graph.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/groupcommit"
	"github.com/onplana/webhook/keyring"
)

// DefaultBusyTimeout is how long a statement waits for a lock held by
// another connection or program before failing.
const DefaultBusyTimeout = 5 * time.Second

// Config configures a Store. The zero value (or a nil *Config) is usable.
type Config struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// program before failing. Defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration
	// SyncEveryCommit makes every commit wait for the disk (SQLite's
	// synchronous=FULL), so that a power loss or kernel crash loses nothing
	// committed. When false (synchronous=NORMAL, the usual choice with WAL),
	// a crash of the process still loses nothing, but a power loss may lose
	// the last commits. Defaults to false.
	SyncEveryCommit bool
	// MaxReaders caps the connections used for reads. Defaults to 4.
	MaxReaders int
	// Now returns the current time, for the timestamps the store sets.
	// Defaults to time.Now.
	Now func() time.Time
	// Keys seals the subscriptions' signing secrets (see keyring.Ring);
	// without it they are stored in clear, and Open logs a warning saying
	// so. Defaults to nil.
	Keys *keyring.Ring
	// Logger receives the store's warnings (secrets in clear, a database
	// file readable by others) and notes (secrets sealed at Open).
	// Defaults to slog.Default().
	Logger *slog.Logger
}

// Store is a webhook.Store and webhook.WorkNotifier in one SQLite file. It
// is safe for concurrent use. Close releases the file.
type Store struct {
	w      *sql.DB // the one writer connection
	r      *sql.DB // readers
	now    func() time.Time
	keys   *keyring.Ring // nil: secrets are stored in clear
	logger *slog.Logger
	work   chan struct{}

	completer *groupcommit.Committer[*completion] // batches concurrent Completes

	closeOnce sync.Once
	closeErr  error
}

var (
	_ webhook.Store        = (*Store)(nil)
	_ webhook.WorkNotifier = (*Store)(nil)
	_ keyring.Reencrypter  = (*Store)(nil)
)

// Open opens (creating if needed, with mode 0600) the SQLite database file
// at path, applies the embedded schema migrations, seals the signing secrets
// kept in clear if cfg.Keys is set, and returns a Store; cfg may be nil. The
// file must be on a local file system (WAL needs shared memory).
//
// Open fails with an error wrapping keyring.ErrKeyMissing when the database
// holds secrets sealed under a key that cfg.Keys lacks (or cfg.Keys is nil),
// and keyring.ErrKeyMismatch when cfg.Keys holds another key under that
// key's id.
func Open(path string, cfg *Config) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, &webhook.ValidationError{Field: "path", Reason: "must be a file path without '?' or '#', not a URI or :memory:"}
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.BusyTimeout < 0:
		return nil, &webhook.ValidationError{Field: "BusyTimeout", Reason: "must not be negative"}
	case c.BusyTimeout == 0:
		c.BusyTimeout = DefaultBusyTimeout
	}
	switch {
	case c.MaxReaders < 0:
		return nil, &webhook.ValidationError{Field: "MaxReaders", Reason: "must not be negative"}
	case c.MaxReaders == 0:
		c.MaxReaders = 4
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if err := createPrivate(path, c.Logger); err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	sync := "NORMAL"
	if c.SyncEveryCommit {
		sync = "FULL"
	}
	// secure_delete(FAST) zeroes a row's old bytes in the pages a write
	// rewrites anyway, so that a secret rewritten sealed (see
	// ReencryptSecrets) leaves no copy in the file's free space.
	dsn := path + "?_pragma=busy_timeout(" + strconv.FormatInt(c.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")&_pragma=secure_delete(FAST)"

	w, err := sql.Open("sqlite", dsn+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, now: c.Now, keys: c.Keys, logger: c.Logger, work: make(chan struct{}, 1)}
	s.completer = groupcommit.New(maxCompleteBatch, completeLinger, completeTimeout, s.flushCompletions)
	// The writer first: it switches the file to WAL and creates the schema
	// before any reader opens it.
	if err := s.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareSecrets(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	r.SetMaxOpenConns(c.MaxReaders)
	r.SetMaxIdleConns(c.MaxReaders)
	s.r = r
	return s, nil
}

// createPrivate creates the database file at path with mode 0600 if it does
// not exist: SQLite would create it 0644 (less the umask), and it creates
// the WAL and shared-memory files with the database file's mode. An
// existing file, or WAL, readable or writable by others is left as it is,
// with a warning.
func createPrivate(path string, logger *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			logger.Warn("sqlitestore: the database file is accessible to other users; restrict it with chmod 600",
				slog.String("file", name), slog.String("mode", perm.String()))
		}
	}
	return nil
}

// Close closes the database. It is idempotent. Deliveries still held by a
// worker stay delivering in the file and are claimed again after their
// lease expires.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// WorkAvailable implements webhook.WorkNotifier. The channel, the same on
// every call, receives a value after deliveries are enqueued, released,
// redelivered, scheduled for an immediate retry, or freed by enabling their
// subscription.
func (s *Store) WorkAvailable() <-chan struct{} { return s.work }

func (s *Store) signal() {
	select {
	case s.work <- struct{}{}:
	default:
	}
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies, in one IMMEDIATE transaction, the embedded migrations
// not yet recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		for _, e := range entries {
			num, _, _ := strings.Cut(e.Name(), "_")
			v, err := strconv.Atoi(num)
			if err != nil {
				return fmt.Errorf("migration file %q: name must be NNNN_name.sql", e.Name())
			}
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				continue
			}
			b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(b)); err != nil {
				return fmt.Errorf("migration %s: %w", e.Name(), err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				v, strings.TrimSuffix(e.Name(), ".sql"), s.now().UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// writeTx runs fn in a BEGIN IMMEDIATE transaction on the writer.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// enc stores t as nanoseconds since the epoch; the zero time is 0.
func enc(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// dec is the inverse of enc, in UTC.
func dec(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// norm returns t as the store gives it back: UTC, nanoseconds, no
// monotonic reading.
func norm(t time.Time) time.Time { return dec(enc(t)) }

// dbErr wraps a database error for op, mapping sql.ErrNoRows to
// webhook.ErrNotFound.
func dbErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", op, webhook.ErrNotFound)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

func conflict(op, detail string) error {
	return fmt.Errorf("sqlitestore: %s: %w: %s", op, webhook.ErrConflict, detail)
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
