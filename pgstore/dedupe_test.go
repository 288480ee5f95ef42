package pgstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
)

func newDedupe(t *testing.T) *pgstore.DedupeStore {
	t.Helper()
	d, err := pgstore.NewDedupeStore(pgtest.NewSchemaPool(t))
	require.NoError(t, err)
	require.NoError(t, d.Migrate(context.Background()))
	return d
}

func TestDedupeStoreLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDedupe(t)
	const key = "dlv_01"

	steps := []struct {
		name string
		do   func() (webhook.ClaimResult, error)
		want webhook.ClaimResult
	}{
		{"first claim acquires", func() (webhook.ClaimResult, error) { return d.Claim(ctx, key, time.Hour) }, webhook.ClaimAcquired},
		{"second claim sees it in flight", func() (webhook.ClaimResult, error) { return d.Claim(ctx, key, time.Hour) }, webhook.ClaimInFlight},
		{"after release the next claim acquires", func() (webhook.ClaimResult, error) {
			require.NoError(t, d.Release(ctx, key))
			return d.Claim(ctx, key, time.Hour)
		}, webhook.ClaimAcquired},
		{"after done claims see done", func() (webhook.ClaimResult, error) {
			require.NoError(t, d.Done(ctx, key, time.Hour))
			return d.Claim(ctx, key, time.Hour)
		}, webhook.ClaimDone},
		{"an expired done mark is claimed again", func() (webhook.ClaimResult, error) {
			require.NoError(t, d.Done(ctx, key, time.Microsecond))
			return d.Claim(ctx, key, time.Microsecond)
		}, webhook.ClaimAcquired},
		{"an expired claim is taken over", func() (webhook.ClaimResult, error) { return d.Claim(ctx, key, time.Hour) }, webhook.ClaimAcquired},
	}
	for _, st := range steps {
		got, err := st.do()
		require.NoError(t, err, st.name)
		require.Equal(t, st.want, got, st.name)
	}
	require.NoError(t, d.Release(ctx, "dlv_unknown"), "releasing an unknown key is fine")
}

func TestDedupeStoreValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDedupe(t)
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"empty key", func() error { _, err := d.Claim(ctx, "", time.Hour); return err }(), "key"},
		{"huge key", func() error { _, err := d.Claim(ctx, strings.Repeat("k", 256), time.Hour); return err }(), "key"},
		{"zero lease", func() error { _, err := d.Claim(ctx, "k", 0); return err }(), "lease"},
		{"negative ttl", d.Done(ctx, "k", -time.Second), "ttl"},
		{"release empty key", d.Release(ctx, ""), "key"},
	}
	for _, tt := range tests {
		var verr *webhook.ValidationError
		require.ErrorAs(t, tt.err, &verr, tt.name)
		require.Equal(t, tt.field, verr.Field, tt.name)
	}
}

// TestDedupeStoreConcurrentClaims: of many instances claiming one delivery
// at once, exactly one acquires it.
func TestDedupeStoreConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDedupe(t)
	for round := range 20 {
		key := "dlv_" + strings.Repeat("x", round+1)
		var acquired atomic.Int32
		var g errgroup.Group
		for range 8 {
			g.Go(func() error {
				r, err := d.Claim(ctx, key, time.Hour)
				if r == webhook.ClaimAcquired {
					acquired.Add(1)
				}
				return err
			})
		}
		require.NoError(t, g.Wait())
		require.Equal(t, int32(1), acquired.Load(), "round %d", round)
	}
}

func TestDedupeStorePrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDedupe(t)
	for i := range 25 {
		key := "dlv_" + strings.Repeat("p", i+1)
		require.NoError(t, d.Done(ctx, key, time.Microsecond))
	}
	require.NoError(t, d.Done(ctx, "dlv_kept", time.Hour))
	n, err := d.Prune(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, int64(25), n)
	r, err := d.Claim(ctx, "dlv_kept", time.Hour)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimDone, r)
}
