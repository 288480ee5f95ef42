package webhook

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSubscriptionChanges(t *testing.T) {
	t.Parallel()
	c := newSubscriptionChanges()
	before := time.Now()
	require.False(t, c.since("sub_a", before), "nothing changed yet")
	c.record("sub_a")
	after := time.Now()
	require.True(t, c.since("sub_a", before), "changed after the claim began")
	require.False(t, c.since("sub_a", after), "changed before the claim began")
	require.False(t, c.since("sub_b", before), "another subscription")

	// Past maxTrackedChanges, entries older than maxHeldAge go: they can
	// no longer concern a delivery that is not read again anyway.
	for i := range maxTrackedChanges {
		c.record("sub_" + strconv.Itoa(i))
	}
	time.Sleep(maxHeldAge + 10*time.Millisecond)
	recent := time.Now()
	c.record("sub_new")
	require.Len(t, c.at, 1)
	require.True(t, c.since("sub_new", recent))
}
