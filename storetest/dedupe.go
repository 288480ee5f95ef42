package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// RunDedupe checks an implementation of webhook.DedupeStore against the
// contract the Idempotency middleware relies on: the claim lifecycle
// (acquire, in flight, release, done), expiry of claims and done marks,
// exactly one winner among concurrent claims of one key, and validation of
// arguments. It calls newStore once per subtest and expects an empty store.
//
// Expiry is checked with real, very short durations (a microsecond), since
// a store's clock may be its database's.
func RunDedupe(t *testing.T, newStore func(t *testing.T) webhook.DedupeStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s webhook.DedupeStore)
	}{
		{"Lifecycle", testDedupeLifecycle},
		{"Expiry", testDedupeExpiry},
		{"ConcurrentClaims", testDedupeConcurrentClaims},
		{"Validation", testDedupeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// claimIs claims key and requires the result want.
func claimIs(t *testing.T, s webhook.DedupeStore, key string, lease time.Duration, want webhook.ClaimResult, step string) {
	t.Helper()
	got, err := s.Claim(t.Context(), key, lease)
	require.NoError(t, err, step)
	require.Equal(t, want, got, step)
}

func testDedupeLifecycle(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	const key = "dlv_lifecycle"
	claimIs(t, s, key, time.Hour, webhook.ClaimAcquired, "the first claim acquires")
	claimIs(t, s, key, time.Hour, webhook.ClaimInFlight, "a second claim sees it in flight")
	require.NoError(t, s.Release(ctx, key))
	claimIs(t, s, key, time.Hour, webhook.ClaimAcquired, "after Release the next claim acquires")
	require.NoError(t, s.Done(ctx, key, time.Hour))
	claimIs(t, s, key, time.Hour, webhook.ClaimDone, "after Done claims see done")
	claimIs(t, s, key, time.Hour, webhook.ClaimDone, "and keep seeing it")
	claimIs(t, s, "dlv_other", time.Hour, webhook.ClaimAcquired, "keys are independent")
	require.NoError(t, s.Done(ctx, "dlv_unclaimed", time.Hour), "Done needs no claim")
	claimIs(t, s, "dlv_unclaimed", time.Hour, webhook.ClaimDone, "a key marked done without a claim")
	require.NoError(t, s.Release(ctx, "dlv_unknown"), "releasing an unknown key is fine")
}

func testDedupeExpiry(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	claimIs(t, s, "dlv_lease", time.Microsecond, webhook.ClaimAcquired, "a claim with a short lease")
	time.Sleep(time.Millisecond) // let the lease run out on any clock
	claimIs(t, s, "dlv_lease", time.Hour, webhook.ClaimAcquired, "an expired claim is taken over: a crashed claimer does not block retries")

	require.NoError(t, s.Done(ctx, "dlv_ttl", time.Microsecond))
	time.Sleep(time.Millisecond)
	claimIs(t, s, "dlv_ttl", time.Hour, webhook.ClaimAcquired, "an expired done mark is claimed again")
}

func testDedupeConcurrentClaims(t *testing.T, s webhook.DedupeStore) {
	for round := range 10 {
		key := "dlv_race_" + strings.Repeat("x", round+1)
		const claimers = 16
		results := make(chan webhook.ClaimResult, claimers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range claimers {
			wg.Go(func() {
				<-start
				r, err := s.Claim(context.WithoutCancel(t.Context()), key, time.Hour)
				if err != nil {
					t.Errorf("claim: %v", err)
				}
				results <- r
			})
		}
		close(start)
		wg.Wait()
		close(results)
		acquired := 0
		for r := range results {
			if r == webhook.ClaimAcquired {
				acquired++
			} else {
				require.Equal(t, webhook.ClaimInFlight, r, "round %d", round)
			}
		}
		require.Equal(t, 1, acquired, "round %d: exactly one of %d concurrent claims acquires", round, claimers)
	}
}

func testDedupeValidation(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	claim := func(key string, lease time.Duration) error { _, err := s.Claim(ctx, key, lease); return err }
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"claim of an empty key", claim("", time.Hour), "key"},
		{"claim with a zero lease", claim("dlv_k", 0), "lease"},
		{"claim with a negative lease", claim("dlv_k", -time.Second), "lease"},
		{"done with a negative ttl", s.Done(ctx, "dlv_k", -time.Second), "ttl"},
		{"done of an empty key", s.Done(ctx, "", time.Hour), "key"},
		{"release of an empty key", s.Release(ctx, ""), "key"},
	}
	for _, tt := range tests {
		var verr *webhook.ValidationError
		require.ErrorAs(t, tt.err, &verr, tt.name)
		require.Equal(t, tt.field, verr.Field, tt.name)
	}
	claimIs(t, s, "dlv_k", time.Hour, webhook.ClaimAcquired, "refused calls changed nothing")
}
