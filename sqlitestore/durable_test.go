package sqlitestore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/sqlitestore"
)

// envPath tells a child dispatcher process which database file to open.
const envPath = "WEBHOOK_DURABLE_SQLITE_PATH"

func TestMain(m *testing.M) {
	durabletest.MaybeRunChild(func(ctx context.Context) (webhook.Store, func(), error) {
		s, err := sqlitestore.Open(os.Getenv(envPath), nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	})
	os.Exit(m.Run())
}

// TestCrashRestart kills a dispatcher process with SIGKILL in the middle of
// 10,000 events × 3 subscriptions (2,000 × 3 under the race detector) and
// restarts it on the same file: every
// delivery reaches the receiver's handler exactly once, none is lost, and
// the duplicates the receiver deduplicated are reported.
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	events := 10_000
	if durabletest.Race {
		// The race detector slows the pure-Go SQLite (in this process and
		// the children, which are this binary) more than tenfold; the full
		// size runs without it (see BENCHMARKS.md, Durable stores).
		events = 2_000
		t.Logf("race detector on: %d events instead of 10,000", events)
	}
	path := filepath.Join(t.TempDir(), "hooks.db")
	store := openStore(t, path)
	durabletest.RunCrash(t, store, durabletest.CrashConfig{
		Events:        events,
		Subscriptions: 3,
		Workers:       32,
		ChildEnv:      []string{envPath + "=" + path},
		Timeout:       3 * time.Minute,
	})
}

// TestGone: an endpoint answering 410 Gone disables its subscription; the
// deliveries claimed for it and not attempted wait, and are sent once it is
// enabled again (durabletest.RunGone).
func TestGone(t *testing.T) {
	t.Parallel()
	durabletest.RunGone(t, openStore(t, filepath.Join(t.TempDir(), "hooks.db")))
}
