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
	claim := func(owner string, want ClaimResult) {
		t.Helper()
		got, err := s.Claim(ctx, "dlv_1", owner, time.Minute)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	claim("a", ClaimAcquired)
	claim("b", ClaimInFlight)
	require.NoError(t, s.Release(ctx, "dlv_1", "a"))
	claim("b", ClaimAcquired)
	advance(time.Minute) // the lease expired: a crashed claimer does not block retries
	claim("c", ClaimAcquired)
	require.NoError(t, s.Release(ctx, "dlv_1", "b"), "b's lease was taken over")
	claim("d", ClaimInFlight)
	require.NoError(t, s.Done(ctx, "dlv_1", 72*time.Hour))
	claim("d", ClaimDone)
	require.NoError(t, s.Release(ctx, "dlv_1", "c"), "Release leaves a done mark")
	advance(72*time.Hour - time.Second)
	claim("d", ClaimDone)
	advance(time.Second)
	claim("d", ClaimAcquired)
	require.NoError(t, s.Release(ctx, "unknown", "a"), "releasing an unknown key is fine")
}

// TestMemoryDedupeStoreLateDone: A's lease expires, B takes over, A
// succeeds, B fails: A's done mark stands, with the ttl it was given.
func TestMemoryDedupeStoreLateDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, advance := newClockedDedupeStore(0)
	res, err := s.Claim(ctx, "dlv_1", "a", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, res)
	advance(time.Minute)
	res, err = s.Claim(ctx, "dlv_1", "b", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, res)
	require.NoError(t, s.Done(ctx, "dlv_1", time.Hour))
	require.NoError(t, s.Release(ctx, "dlv_1", "b"))
	require.NoError(t, s.Done(ctx, "dlv_1", 72*time.Hour), "a second Done keeps the first one's ttl")
	advance(time.Hour)
	res, err = s.Claim(ctx, "dlv_1", "c", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, res)
}

func TestMemoryDedupeStoreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, advance := newClockedDedupeStore(3)
	for i := range 10 {
		_, err := s.Claim(ctx, fmt.Sprint("dlv_", i), "o", time.Hour)
		require.NoError(t, err)
		require.NoError(t, s.Done(ctx, fmt.Sprint("dlv_", i), time.Hour))
		require.LessOrEqual(t, s.len(), 3)
	}
	// The newest are remembered, the oldest forgotten.
	res, err := s.Claim(ctx, "dlv_9", "o", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimDone, res)
	res, err = s.Claim(ctx, "dlv_0", "o", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, res)
	// Expired entries are pruned without waiting for the cap.
	advance(2 * time.Hour)
	_, err = s.Claim(ctx, "dlv_new", "o", time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, s.len())
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
	_, err := s.Claim(ctx, "", "o", time.Minute)
	require.Equal(t, "key", field(err))
	_, err = s.Claim(ctx, "k", "", time.Minute)
	require.Equal(t, "owner", field(err))
	_, err = s.Claim(ctx, "k", "o", 0)
	require.Equal(t, "lease", field(err))
	require.Equal(t, "ttl", field(s.Done(ctx, "k", -time.Second)))
	require.Equal(t, "key", field(s.Release(ctx, "", "o")))
	require.Equal(t, "owner", field(s.Release(ctx, "k", "")))
	_, err = s.Claim(canceled, "k", "o", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, s.len())
}

// TestMemoryDedupeStoreReusesEntries walks a full store through the moves
// that recycle an entry (Done turning the caller's claim into a done mark
// in place, eviction handing the oldest entry's struct to the newest) and
// checks what each key is afterwards.
func TestMemoryDedupeStoreReusesEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type op struct {
		do    string // "claim", "done" or "release"
		key   string
		owner string
		want  ClaimResult // of a claim
	}
	type check struct {
		key  string
		want ClaimResult
	}
	tests := []struct {
		name  string
		ops   []op
		after []check // in order: what a claim by a new owner then finds
	}{
		{"done in place", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"done", "a", "", 0},
		}, []check{{"a", ClaimDone}}},
		{"done of a key never claimed", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"done", "b", "", 0},
		}, []check{{"a", ClaimInFlight}, {"b", ClaimDone}}},
		{"eviction forgets the oldest", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"done", "a", "", 0},
			{"claim", "b", "o2", ClaimAcquired}, {"done", "b", "", 0},
			{"claim", "c", "o3", ClaimAcquired},
		}, []check{{"b", ClaimDone}, {"c", ClaimInFlight}, {"a", ClaimAcquired}}},
		{"a done mark moves to the tail", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"claim", "b", "o2", ClaimAcquired},
			{"done", "a", "", 0}, {"claim", "c", "o3", ClaimAcquired},
		}, []check{{"a", ClaimDone}, {"c", ClaimInFlight}, {"b", ClaimAcquired}}},
		{"a recycled entry keeps no owner", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"claim", "b", "o2", ClaimAcquired},
			{"claim", "c", "o3", ClaimAcquired}, {"release", "c", "o1", 0},
		}, []check{{"c", ClaimInFlight}}},
		{"release after done keeps the mark", []op{
			{"claim", "a", "o1", ClaimAcquired}, {"done", "a", "", 0}, {"release", "a", "o1", 0},
		}, []check{{"a", ClaimDone}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMemoryDedupeStore(2)
			for _, o := range tt.ops {
				switch o.do {
				case "claim":
					got, err := s.Claim(ctx, o.key, o.owner, time.Hour)
					require.NoError(t, err)
					require.Equal(t, o.want, got, "claim %s", o.key)
				case "done":
					require.NoError(t, s.Done(ctx, o.key, time.Hour))
				case "release":
					require.NoError(t, s.Release(ctx, o.key, o.owner))
				}
				require.LessOrEqual(t, s.len(), 2)
			}
			// The entries that stay are checked before a claim of the
			// forgotten one evicts another.
			for _, c := range tt.after {
				got, err := s.Claim(ctx, c.key, "later", time.Hour)
				require.NoError(t, err)
				require.Equal(t, c.want, got, "key %s", c.key)
			}
		})
	}
}

// TestMemoryDedupeStoreDoesNotAllocate: once full, a store
// recycles the entries it evicts, so a claim and its done mark allocate
// nothing.
func TestMemoryDedupeStoreDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryDedupeStore(64)
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprint("dlv_", i)
	}
	i := 0
	cycle := func() {
		key := keys[i%len(keys)]
		i++
		if res, err := s.Claim(ctx, key, "owner", time.Hour); err != nil || res != ClaimAcquired {
			panic(fmt.Sprint(res, err))
		}
		if err := s.Done(ctx, key, time.Hour); err != nil {
			panic(err)
		}
	}
	for range len(keys) {
		cycle() // fill the store and its map
	}
	require.Zero(t, testing.AllocsPerRun(1000, cycle))
}

// TestMonotonicNow: the store's clock follows time.Now, and its times
// compare as time.Now's do.
func TestMonotonicNow(t *testing.T) {
	t.Parallel()
	now := monotonicNow()
	before := time.Now()
	got := now()
	after := time.Now()
	require.False(t, got.Before(before), "%v before %v", got, before)
	require.False(t, got.After(after.Add(time.Second)), "%v after %v", got, after)
	later := now()
	require.False(t, later.Before(got))
	require.True(t, got.Before(got.Add(time.Nanosecond)))
	time.Sleep(2 * time.Millisecond)
	require.True(t, got.Before(now()))
}
