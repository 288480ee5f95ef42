package webhook

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/internal/sortid"
)

func TestNewIDSortsInCreationOrder(t *testing.T) {
	now := time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)
	var ids []string
	for i := range 10_000 {
		// Ten thousand ids in three milliseconds: most share one.
		ids = append(ids, newID(prefixDelivery, now.Add(time.Duration(i/4000)*time.Millisecond)))
	}
	require.True(t, slices.IsSorted(ids), "ids made one after another sort in that order")
	require.Len(t, slices.Compact(slices.Clone(ids)), len(ids), "ids are unique")
	for _, id := range ids {
		require.Len(t, id, len(prefixDelivery)+26)
		require.NotContains(t, id, ".")
		require.Equal(t, -1, strings.IndexFunc(id[len(prefixDelivery):], func(r rune) bool {
			return !strings.ContainsRune(sortid.Alphabet, r)
		}), id)
	}
	later := newID(prefixDelivery, now.Add(time.Second))
	require.Greater(t, later, ids[len(ids)-1], "a later millisecond sorts after")
	require.Equal(t, ids[0][:len(prefixDelivery)+10], newID(prefixDelivery, now)[:len(prefixDelivery)+10],
		"the first ten digits are the millisecond")
}

func TestNewIDConcurrent(t *testing.T) {
	now := time.Now()
	const goroutines, each = 8, 1000
	got := make(chan string, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				got <- newID(prefixEvent, now)
			}
		})
	}
	wg.Wait()
	close(got)
	seen := make(map[string]bool, goroutines*each)
	for id := range got {
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
}
