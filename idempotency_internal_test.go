package webhook

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewClaimOwner: owner tokens are unique within the process, even drawn
// concurrently, and start with the process's random prefix, which tells
// them apart from another process's.
func TestNewClaimOwner(t *testing.T) {
	t.Parallel()
	require.Len(t, claimOwnerPrefix, 27, "26 base32 characters (128 random bits) and a dash")
	const goroutines, each = 8, 1000 // each crosses many batches
	var mu sync.Mutex
	seen := make(map[string]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			owners := make([]string, each)
			for i := range owners {
				owners[i] = newClaimOwner()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range owners {
				require.True(t, strings.HasPrefix(o, claimOwnerPrefix), o)
				require.Len(t, o, len(claimOwnerPrefix)+ownerDigits, o)
				require.False(t, seen[o], "owner %s drawn twice", o)
				seen[o] = true
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, goroutines*each)
}

// TestOwnerBatch: a batch's tokens are the prefix and the number of each
// claim in fixed-width base 32, whichever goroutine makes it.
func TestOwnerBatch(t *testing.T) {
	t.Parallel()
	width := len(claimOwnerPrefix) + ownerDigits
	for _, first := range []uint64{0, ownerBatchSize, 1 << 40, math.MaxUint64 &^ (ownerBatchSize - 1)} {
		b := newOwnerBatch(first)
		require.Equal(t, first, b.first)
		require.Len(t, b.tokens, ownerBatchSize*width)
		require.Equal(t, b.tokens, newOwnerBatch(first).tokens, "a batch follows from its first number")
		for i := range uint64(ownerBatchSize) {
			tok := b.tokens[int(i)*width : int(i+1)*width]
			require.True(t, strings.HasPrefix(tok, claimOwnerPrefix), tok)
			n, err := strconv.ParseUint(tok[len(claimOwnerPrefix):], 32, 64)
			require.NoError(t, err, tok)
			require.Equal(t, first+i, n, tok)
		}
	}
}
