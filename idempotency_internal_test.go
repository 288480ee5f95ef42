package webhook

import (
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
	const goroutines, each = 8, 1000
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
				require.Greater(t, len(o), len(claimOwnerPrefix), o)
				require.False(t, seen[o], "owner %s drawn twice", o)
				seen[o] = true
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, goroutines*each)
}
