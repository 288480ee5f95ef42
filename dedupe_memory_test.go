package webhook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newClockedDedupeStore returns a store whose clock the test moves.
func newClockedDedupeStore(max int) (*MemoryDedupeStore, func(time.Duration)) {
	s := NewMemoryDedupeStore(max)
	var mu sync.Mutex
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	return s, func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
}

func TestMemoryDedupeStoreLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, advance := newClockedDedupeStore(0)
	claim := func(want ClaimResult) {
		t.Helper()
		got, err := s.Claim(ctx, "dlv_1", time.Minute)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	claim(ClaimAcquired)
	claim(ClaimInFlight)
	require.NoError(t, s.Release(ctx, "dlv_1"))
	claim(ClaimAcquired)
	advance(time.Minute) // the lease expired: a crashed claimer does not block retries
	claim(ClaimAcquired)
	require.NoError(t, s.Done(ctx, "dlv_1", 72*time.Hour))
	claim(ClaimDone)
	advance(72*time.Hour - time.Second)
	claim(ClaimDone)
	advance(time.Second)
	claim(ClaimAcquired)
	require.NoError(t, s.Release(ctx, "unknown"), "releasing an unknown key is fine")
}

func TestMemoryDedupeStoreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, advance := newClockedDedupeStore(3)
	for i := range 10 {
		_, err := s.Claim(ctx, fmt.Sprint("dlv_", i), time.Hour)
		require.NoError(t, err)
		require.NoError(t, s.Done(ctx, fmt.Sprint("dlv_", i), time.Hour))
		require.LessOrEqual(t, s.Len(), 3)
	}
	// The newest are remembered, the oldest forgotten.
	res, err := s.Claim(ctx, "dlv_9", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimDone, res)
	res, err = s.Claim(ctx, "dlv_0", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, res)
	// Expired entries are pruned without waiting for the cap.
	advance(2 * time.Hour)
	_, err = s.Claim(ctx, "dlv_new", time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, s.Len())
}

func TestMemoryDedupeStoreRefusesBadArguments(t *testing.T) {
	t.Parallel()
	s := NewMemoryDedupeStore(0)
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	field := func(err error) string {
		t.Helper()
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		return ve.Field
	}
	_, err := s.Claim(ctx, "", time.Minute)
	require.Equal(t, "key", field(err))
	_, err = s.Claim(ctx, "k", 0)
	require.Equal(t, "lease", field(err))
	require.Equal(t, "ttl", field(s.Done(ctx, "k", -time.Second)))
	require.Equal(t, "key", field(s.Release(ctx, "")))
	_, err = s.Claim(canceled, "k", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, s.Len())
}
