package pgstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

// envDSN tells a child dispatcher process which database to deliver from.
const envDSN = "WEBHOOK_DURABLE_PG_DSN"

func TestMain(m *testing.M) {
	durabletest.MaybeRunChild(func(ctx context.Context) (webhook.Store, func(), error) {
		pool, err := pgxpool.New(ctx, os.Getenv(envDSN))
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(pool, nil)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	})
	os.Exit(m.Run())
}

// newDurableStore returns a migrated store on a database of its own and
// the DSN a child process opens it with.
func newDurableStore(t *testing.T) (*pgstore.Store, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

// TestCrashRestart kills a dispatcher process with SIGKILL in the middle of
// 10,000 events × 3 subscriptions and starts another on the same database:
// every delivery reaches the receiver's handler exactly once, none is lost,
// and the duplicates the receiver deduplicated are reported.
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	store, dsn := newDurableStore(t)
	durabletest.RunCrash(t, store, durabletest.CrashConfig{
		Events:        10_000,
		Subscriptions: 3,
		Workers:       32,
		ChildEnv:      []string{envDSN + "=" + dsn},
		Timeout:       3 * time.Minute,
	})
}

// TestGone: an endpoint answering 410 Gone disables its subscription; the
// deliveries claimed for it and not attempted wait, and are sent once it is
// enabled again (durabletest.RunGone).
func TestGone(t *testing.T) {
	t.Parallel()
	store, _ := newDurableStore(t)
	durabletest.RunGone(t, store)
}

// TestTwoProcesses runs two dispatcher processes on one database over
// 20,000 deliveries: none is lost, none is handled twice, both do a share.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("two-process test skipped in -short mode")
	}
	ctx := context.Background()
	store, dsn := newDurableStore(t)
	const events, subs = 10_000, 2
	const total = events * subs
	recv := durabletest.NewReceiver(t)
	require.NoError(t, recv.Subscribe(ctx, store, "org_two", subs))
	require.NoError(t, durabletest.Publish(ctx, store, "org_two", events))

	start := time.Now()
	a := durabletest.StartChild(t, "a", 16, 0, envDSN+"="+dsn)
	b := durabletest.StartChild(t, "b", 16, 0, envDSN+"="+dsn)
	durabletest.Wait(t, recv.Processed(total), 3*time.Minute, "every delivery")
	elapsed := time.Since(start)
	a.Stop(30 * time.Second)
	b.Stop(30 * time.Second)

	c := recv.Counts()
	require.Equal(t, total, c.Distinct, "distinct deliveries processed")
	require.Equal(t, total, c.HandlerRan, "handler runs")
	states, err := durabletest.CountStates(ctx, store)
	require.NoError(t, err)
	require.Equal(t, map[webhook.DeliveryState]int{webhook.StateSucceeded: total}, states)
	// Both claim from one queue; each must have done real work. (Only
	// an expired lease could make them send the same delivery, and no
	// lease expires here.)
	require.Greater(t, c.ByAgent["a"], total/10, "process a's share")
	require.Greater(t, c.ByAgent["b"], total/10, "process b's share")
	t.Logf("two processes: %d deliveries in %v (%.0f/s); a sent %d, b sent %d; %d requests, %d duplicates",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		c.ByAgent["a"], c.ByAgent["b"], c.Requests, c.Duplicates())
}
