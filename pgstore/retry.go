package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Delays between tries of a write interrupted by a connection failure.
const (
	retryMinDelay = 50 * time.Millisecond
	retryMaxDelay = time.Second
)

// connectionLost reports whether err says the connection failed or the
// server went away (shutdown, restart, network), as opposed to the
// statement itself being refused.
func connectionLost(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; class 57: operator intervention
		// (admin_shutdown, crash_shutdown, cannot_connect_now).
		return len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "57")
	}
	// Anything else from pgx here is a dial or I/O failure.
	return true
}

// retryLost runs write until it succeeds, fails for a reason other than a
// lost connection, or ctx ends. It is used for Complete and Release only:
// both are guarded by the lease, so a retry of a write that did commit
// before the connection broke changes nothing (and reports ErrLeaseLost).
// That way a worker that finished an attempt while PostgreSQL restarts
// keeps its result instead of leaving the delivery to be re-sent after its
// lease expires.
func retryLost(ctx context.Context, write func() error) error {
	delay := retryMinDelay
	for {
		err := write()
		if !connectionLost(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, retryMaxDelay)
	}
}
