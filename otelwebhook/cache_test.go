package otelwebhook

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadMostlyComputesOncePerKey(t *testing.T) {
	var c readMostly[string, int]
	computed := map[string]int{}
	get := func(k string) int {
		return c.get(k, func() int {
			computed[k]++
			n, _ := strconv.Atoi(k)
			return n
		})
	}
	for range 3 {
		for i := range 10 {
			require.Equal(t, i, get(strconv.Itoa(i)))
		}
	}
	for i := range 10 {
		require.Equal(t, 1, computed[strconv.Itoa(i)], "key %d", i)
		// Looked up more times than there are entries: every key is in
		// the snapshot, read without the lock.
		v, ok := c.load(strconv.Itoa(i))
		require.True(t, ok, "key %d not in the snapshot", i)
		require.Equal(t, i, v)
	}
}

func TestReadMostlyBounded(t *testing.T) {
	var c readMostly[int, int]
	computes := 0
	get := func(k int) int { return c.get(k, func() int { computes++; return -k }) }
	for k := range maxCached {
		get(k)
	}
	require.Equal(t, maxCached, computes)
	require.Equal(t, -7, get(7))
	require.Equal(t, maxCached, computes, "a kept value is not computed again")
	require.Equal(t, -maxCached, get(maxCached))
	require.Equal(t, -maxCached, get(maxCached))
	require.Equal(t, maxCached+2, computes, "past maxCached, values are computed at each use")
	require.Equal(t, maxCached, c.size)
}

func TestReadMostlyConcurrent(t *testing.T) {
	var c readMostly[int, *int]
	var wg sync.WaitGroup
	got := make([][]*int, 8)
	for g := range got {
		wg.Go(func() {
			for i := range 2000 {
				k := i % 50
				got[g] = append(got[g], c.get(k, func() *int { return &k }))
			}
		})
	}
	wg.Wait()
	// Every goroutine ends up with the value kept for each key, whichever
	// goroutine computed it.
	for g := range got {
		for i, p := range got[g][len(got[g])-50:] {
			want, ok := c.load((len(got[g]) - 50 + i) % 50)
			require.True(t, ok)
			require.Same(t, want, p)
		}
	}
}
