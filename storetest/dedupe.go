package storetest

import (
	"context"
	"crypto/rand"
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
// claims owned by the request that took them (a request whose lease expired
// and was taken over cannot release the claim that took over, nor undo a
// done mark), exactly one winner among concurrent claims of one key, and
// validation of arguments. It calls newStore once per subtest and expects
// an empty store.
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
		{"ReleaseIsTheOwners", testDedupeReleaseIsTheOwners},
		{"TakeoverThenLateRelease", testDedupeTakeoverLateRelease},
		{"TakeoverThenLateDone", testDedupeTakeoverLateDone},
		{"ConcurrentClaims", testDedupeConcurrentClaims},
		{"Validation", testDedupeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Owner tokens of the requests in the takeover scenarios: A's lease
// expires while its handler runs, B takes the key over, C comes later.
const ownerA, ownerB, ownerC = "owner-a", "owner-b", "owner-c"

// claimIs claims key for owner and requires the result want.
func claimIs(t *testing.T, s webhook.DedupeStore, key, owner string, lease time.Duration, want webhook.ClaimResult, step string) {
	t.Helper()
	got, err := s.Claim(t.Context(), key, owner, lease)
	require.NoError(t, err, step)
	require.Equal(t, want, got, step)
}

// expire lets a lease or ttl of a microsecond run out on any clock (the
// store's may be its database's).
func expire() { time.Sleep(time.Millisecond) }

func testDedupeLifecycle(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	const key = "dlv_lifecycle"
	claimIs(t, s, key, ownerA, time.Hour, webhook.ClaimAcquired, "the first claim acquires")
	claimIs(t, s, key, ownerB, time.Hour, webhook.ClaimInFlight, "a second claim sees it in flight")
	claimIs(t, s, key, ownerA, time.Hour, webhook.ClaimInFlight, "even by the same owner")
	require.NoError(t, s.Release(ctx, key, ownerA))
	claimIs(t, s, key, ownerB, time.Hour, webhook.ClaimAcquired, "after Release the next claim acquires")
	require.NoError(t, s.Done(ctx, key, time.Hour))
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "after Done claims see done")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "and keep seeing it")
	require.NoError(t, s.Release(ctx, key, ownerB), "a late Release by the owner that marked it done")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "does not undo Done")
	claimIs(t, s, "dlv_other", ownerA, time.Hour, webhook.ClaimAcquired, "keys are independent")
	require.NoError(t, s.Done(ctx, "dlv_unclaimed", time.Hour), "Done needs no claim")
	claimIs(t, s, "dlv_unclaimed", ownerA, time.Hour, webhook.ClaimDone, "a key marked done without a claim")
	require.NoError(t, s.Release(ctx, "dlv_unknown", ownerA), "releasing an unknown key is fine")
}

func testDedupeExpiry(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	claimIs(t, s, "dlv_lease", ownerA, time.Microsecond, webhook.ClaimAcquired, "a claim with a short lease")
	expire()
	claimIs(t, s, "dlv_lease", ownerB, time.Hour, webhook.ClaimAcquired, "an expired claim is taken over: a crashed claimer does not block retries")

	require.NoError(t, s.Done(ctx, "dlv_ttl", time.Microsecond))
	expire()
	claimIs(t, s, "dlv_ttl", ownerA, time.Hour, webhook.ClaimAcquired, "an expired done mark is claimed again")
}

// testDedupeReleaseIsTheOwners: only the owner of a claim releases it.
func testDedupeReleaseIsTheOwners(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	const key = "dlv_owned"
	claimIs(t, s, key, ownerA, time.Hour, webhook.ClaimAcquired, "A claims")
	require.NoError(t, s.Release(ctx, key, ownerB), "a Release by another owner is no error")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimInFlight, "and leaves A's claim in flight")
	require.NoError(t, s.Release(ctx, key, ownerA))
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimAcquired, "A's own Release frees it")
}

// testDedupeTakeoverLateRelease: A's handler outlives its lease and B takes
// the key over; A then fails and releases. B's claim must survive, or a
// third copy C would run the handler while B still runs.
func testDedupeTakeoverLateRelease(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	const key = "dlv_takeover_release"
	claimIs(t, s, key, ownerA, time.Microsecond, webhook.ClaimAcquired, "A claims with a lease its handler outlives")
	expire()
	claimIs(t, s, key, ownerB, time.Hour, webhook.ClaimAcquired, "B takes the expired claim over")
	require.NoError(t, s.Release(ctx, key, ownerA), "A fails late and releases")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimInFlight, "B's claim is untouched: C does not run")
	require.NoError(t, s.Done(ctx, key, time.Hour), "B succeeds")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "C sees it done")
}

// testDedupeTakeoverLateDone: A's handler outlives its lease and B takes
// the key over; A then succeeds, and B fails. A's done mark must survive
// B's Release, or a later copy would run the handler a third time.
func testDedupeTakeoverLateDone(t *testing.T, s webhook.DedupeStore) {
	ctx := t.Context()
	const key = "dlv_takeover_done"
	claimIs(t, s, key, ownerA, time.Microsecond, webhook.ClaimAcquired, "A claims with a lease its handler outlives")
	expire()
	claimIs(t, s, key, ownerB, time.Hour, webhook.ClaimAcquired, "B takes the expired claim over")
	require.NoError(t, s.Done(ctx, key, time.Hour), "A succeeds late: the delivery was processed")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "C sees it done while B runs")
	require.NoError(t, s.Release(ctx, key, ownerB), "B fails and releases")
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "A's done mark survives B's Release: C does not run")
	require.NoError(t, s.Done(ctx, key, time.Microsecond), "a later Done")
	expire()
	claimIs(t, s, key, ownerC, time.Hour, webhook.ClaimDone, "leaves the earlier done mark and its ttl as they are")
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
				r, err := s.Claim(context.WithoutCancel(t.Context()), key, rand.Text(), time.Hour)
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
	claim := func(key, owner string, lease time.Duration) error {
		_, err := s.Claim(ctx, key, owner, lease)
		return err
	}
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"claim of an empty key", claim("", ownerA, time.Hour), "key"},
		{"claim without an owner", claim("dlv_k", "", time.Hour), "owner"},
		{"claim with a zero lease", claim("dlv_k", ownerA, 0), "lease"},
		{"claim with a negative lease", claim("dlv_k", ownerA, -time.Second), "lease"},
		{"done with a negative ttl", s.Done(ctx, "dlv_k", -time.Second), "ttl"},
		{"done of an empty key", s.Done(ctx, "", time.Hour), "key"},
		{"release of an empty key", s.Release(ctx, "", ownerA), "key"},
		{"release without an owner", s.Release(ctx, "dlv_k", ""), "owner"},
	}
	for _, tt := range tests {
		var verr *webhook.ValidationError
		require.ErrorAs(t, tt.err, &verr, tt.name)
		require.Equal(t, tt.field, verr.Field, tt.name)
	}
	claimIs(t, s, "dlv_k", ownerA, time.Hour, webhook.ClaimAcquired, "refused calls changed nothing")
}
