package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/storetest"
)

func newDedupe(t *testing.T) *pgstore.DedupeStore {
	t.Helper()
	d, err := pgstore.NewDedupeStore(pgtest.NewSchemaPool(t))
	require.NoError(t, err)
	require.NoError(t, d.Migrate(context.Background()))
	return d
}

// TestDedupeConformance runs the DedupeStore conformance suite; each
// subtest gets a schema of its own.
func TestDedupeConformance(t *testing.T) {
	storetest.RunDedupe(t, func(t *testing.T) webhook.DedupeStore { return newDedupe(t) })
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
	r, err := d.Claim(ctx, "dlv_kept", "owner-test", time.Hour)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimDone, r)
}
