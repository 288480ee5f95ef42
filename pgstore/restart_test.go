package pgstore_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

// TestDatabaseRestart stops PostgreSQL (pg_ctl stop -m fast, which
// disconnects every client) under a running dispatcher and starts it again:
// the dispatcher logs the outage, keeps the results of the attempts it had
// in flight, and finishes every delivery exactly once. It uses a server of
// its own, so that the other tests keep theirs.
func TestDatabaseRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restart test skipped in -short mode")
	}
	srv := pgtest.RestartableServer(t)
	ctx := context.Background()
	dsn := pgtest.NewDatabaseOn(t, srv.DSN)
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	logs := newCaptureHandler(slog.LevelWarn)
	logger := slog.New(logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dispatcher and store logs:\n%s", strings.Join(logs.all(), "\n"))
		}
	})
	store, err := pgstore.New(pool, &pgstore.Config{Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	require.NoError(t, store.Migrate(ctx))

	const events, subs = 2500, 2
	const total = events * subs
	recv := durabletest.NewReceiver(t)
	require.NoError(t, recv.Subscribe(ctx, store, "org_restart", subs))
	require.NoError(t, durabletest.Publish(ctx, store, "org_restart", events))

	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Workers:         16,
		MaxPerEndpoint:  16,
		AttemptTimeout:  durabletest.AttemptTimeout,
		RetryPolicy:     durabletest.RetryPolicy,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          logger,
		PollInterval:    200 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { d.Close(context.Background()) })

	pgCtl := func(args ...string) {
		t.Helper()
		// No pipes: the server pg_ctl starts inherits them and would keep
		// a CombinedOutput waiting until it exits.
		cmd := exec.Command(srv.PGCtl, append([]string{"-D", srv.PGData, "-w", "-t", "60"}, args...)...)
		require.NoError(t, cmd.Run(), "pg_ctl %s", strings.Join(args, " "))
	}
	started := false
	t.Cleanup(func() {
		if !started { // leave the server running for the next test run
			exec.Command(srv.PGCtl, "-D", srv.PGData, "-w", "start").Run()
		}
	})

	durabletest.Wait(t, recv.Processed(total/4), 2*time.Minute, "a quarter of the deliveries")
	// The dispatcher's own report of the outage, not just the store's.
	outage := logs.next("ERROR webhook: ")
	pgCtl("-m", "fast", "stop")
	stoppedAt := recv.Counts().Distinct
	durabletest.Wait(t, outage, time.Minute, "the dispatcher to log the outage")
	pgCtl("start")
	started = true
	t.Logf("PostgreSQL stopped after %d deliveries and started again", stoppedAt)

	durabletest.Wait(t, recv.Processed(total), 4*time.Minute, "every delivery after the restart")
	require.NoError(t, d.Close(ctx))

	c := recv.Counts()
	require.Equal(t, total, c.Distinct)
	require.Equal(t, total, c.HandlerRan, "the handler ran once per delivery")
	states, err := durabletest.CountStates(ctx, store)
	require.NoError(t, err)
	require.Equal(t, map[webhook.DeliveryState]int{webhook.StateSucceeded: total}, states)
	t.Logf("database restart: %d deliveries, %d requests, %d duplicates; the outage was logged as:\n%s",
		total, c.Requests, c.Duplicates(), strings.Join(logs.all(), "\n"))
}

// captureHandler is a slog.Handler keeping the records at or above a level
// and signalling the next one to a waiter.
type captureHandler struct {
	level slog.Level
	mu    *sync.Mutex
	st    *captureState
}

type captureState struct {
	records []string
	waiters []captureWaiter
}

type captureWaiter struct {
	prefix string
	ch     chan struct{}
}

func newCaptureHandler(level slog.Level) *captureHandler {
	return &captureHandler{level: level, mu: &sync.Mutex{}, st: &captureState{}}
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	rec := b.String()
	h.st.records = append(h.st.records, rec)
	kept := h.st.waiters[:0]
	for _, w := range h.st.waiters {
		if strings.HasPrefix(rec, w.prefix) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	h.st.waiters = kept
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// next returns a channel closed at the next record that starts with
// prefix ("LEVEL message").
func (h *captureHandler) next(prefix string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.st.waiters = append(h.st.waiters, captureWaiter{prefix: prefix, ch: ch})
	return ch
}

func (h *captureHandler) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.st.records...)
}
