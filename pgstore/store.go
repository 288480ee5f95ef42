// Package pgstore is a webhook.Store on PostgreSQL, for deployments where
// several processes publish events and several dispatchers deliver them from
// one shared queue.
//
// Open a *pgxpool.Pool, wrap it with New, and call Migrate once at start-up
// (every process may call it; it is idempotent and safe when processes start
// together):
//
//	pool, err := pgxpool.New(ctx, dsn)
//	store, err := pgstore.New(pool, nil)
//	err = store.Migrate(ctx)
//	d, err := webhook.NewDispatcher(store, cfg)
//
// Workers claim due deliveries with one statement that selects them FOR
// UPDATE SKIP LOCKED and leases them, so dispatchers in many processes never
// hold the same delivery at once. A delivery whose lease expires (its worker
// crashed or lost the database) is claimed again by another worker: that is
// the one place a receiver can see a delivery twice, which is why receivers
// deduplicate by delivery id.
//
// Enqueue and Release send a NOTIFY in the same transaction; the Store's
// WorkAvailable channel, fed by a LISTEN connection the Store owns, wakes
// idle dispatchers in every process, so they need not poll often.
//
// PublishTx records an event's deliveries inside the caller's own
// transaction (the transactional outbox). DedupeStore keeps receiver-side
// idempotency keys in the same database, and Prune trims the delivery log.
//
// The tables are created in the connection's current schema (its
// search_path), with names starting with webhook_.
//
// pgstore is a module of its own (go get github.com/onplana/webhook/pgstore),
// so only programs that use it have pgx in their module graph.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/groupcommit"
	"github.com/onplana/webhook/keyring"
)

// DefaultChannel is the LISTEN/NOTIFY channel used when Config.Channel is
// empty.
const DefaultChannel = "webhook_deliveries"

// Config configures a Store. The zero value (or a nil *Config) is usable.
type Config struct {
	// Channel is the LISTEN/NOTIFY channel on which enqueues are announced.
	// Stores sharing a database and a queue must use the same channel.
	// Defaults to DefaultChannel.
	Channel string
	// MaxPayloadBytes caps the envelope PublishTx builds, as the
	// Dispatcher's Config.MaxPayloadBytes does for Publish; set both to the
	// same value. Defaults to webhook.DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Logger receives the store's logs (migrations, listener outages).
	// Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time, for the timestamps the store sets.
	// Defaults to time.Now.
	Now func() time.Time
	// Validator, if set, checks every event PublishTx accepts, as the
	// Dispatcher's Config.Validator does for Publish; set both to the
	// same value (onplana.Validator() to enforce the catalog's JSON
	// Schemas). Defaults to nil: only the checks of webhook.NewDeliveries.
	Validator webhook.EventValidator
	// TraceContext, if set, encodes the trace context of a PublishTx
	// call's ctx, which is kept with each of its deliveries as
	// Delivery.TraceContext: set it to the TraceContext method of the
	// Dispatcher's Observer (see webhook.TraceObserver), so that events
	// published in a transaction are traced as those of Publish are.
	// Defaults to nil: no trace context is kept.
	TraceContext func(ctx context.Context) string
	// Keys seals the subscriptions' signing secrets (see keyring.Ring
	// and Migrate); without it they are stored in clear, and Migrate logs
	// a warning saying so. Every process sharing the database needs the
	// same keys. Defaults to nil.
	Keys *keyring.Ring
}

// Store is a webhook.Store, webhook.WorkNotifier and receiver DedupeStore on
// PostgreSQL. It is safe for concurrent use. Close stops its LISTEN
// connection; the pool stays the caller's to close.
type Store struct {
	pool      *pgxpool.Pool
	channel   string
	maxBytes  int
	validator webhook.EventValidator
	logger    *slog.Logger
	now       func() time.Time
	traceCtx  func(context.Context) string // Config.TraceContext
	keys      *keyring.Ring                // nil: secrets are stored in clear

	work chan struct{} // WorkAvailable; buffered, sends never block

	completer *groupcommit.Committer[*completion] // batches concurrent Completes

	mu       sync.Mutex
	closed   bool
	listenWG sync.WaitGroup
	stop     context.CancelFunc // stops the listener; nil until it starts
}

var (
	_ webhook.Store        = (*Store)(nil)
	_ webhook.WorkNotifier = (*Store)(nil)
	_ keyring.Reencrypter  = (*Store)(nil)
)

// New returns a Store over pool; cfg may be nil. It does not touch the
// database: call Migrate before first use.
func New(pool *pgxpool.Pool, cfg *Config) (*Store, error) {
	if pool == nil {
		return nil, &webhook.ValidationError{Field: "pool", Reason: "must not be nil"}
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	if len(c.Channel) > 63 {
		return nil, &webhook.ValidationError{Field: "Channel", Reason: "longer than PostgreSQL's 63-byte identifier limit"}
	}
	if c.MaxPayloadBytes < 0 {
		return nil, &webhook.ValidationError{Field: "MaxPayloadBytes", Reason: "must not be negative"}
	}
	if c.MaxPayloadBytes == 0 {
		c.MaxPayloadBytes = webhook.DefaultMaxPayloadBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Store{
		pool:      pool,
		channel:   c.Channel,
		maxBytes:  c.MaxPayloadBytes,
		validator: c.Validator,
		logger:    c.Logger,
		now:       c.Now,
		traceCtx:  c.TraceContext,
		keys:      c.Keys,
		work:      make(chan struct{}, 1),
	}
	s.completer = groupcommit.New(maxCompleteBatch, completeLinger, completeTimeout, s.flushCompletions)
	return s, nil
}

// Close stops the LISTEN connection, if WorkAvailable started one, and
// waits for its goroutine to exit. It does not close the pool. Close is
// idempotent; other methods keep working after it, but WorkAvailable no
// longer receives notifications from other processes.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	stop := s.stop
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.listenWG.Wait()
	return nil
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ts prepares t for a timestamptz column, whose precision is a microsecond,
// so that a value the store returns compares equal to the one stored.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = ts(t)
	return &t
}

// fromNull maps NULL to the zero time.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// dbErr wraps a database error for op, mapping pgx.ErrNoRows to
// webhook.ErrNotFound.
func dbErr(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", op, webhook.ErrNotFound)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// conflict returns an error wrapping webhook.ErrConflict.
func conflict(op, detail string) error {
	return fmt.Errorf("pgstore: %s: %w: %s", op, webhook.ErrConflict, detail)
}
