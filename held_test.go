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
	after := c.at["sub_a"].Add(time.Nanosecond)
	require.True(t, c.since("sub_a", before), "changed after the claim began")
	require.False(t, c.since("sub_a", after), "changed before the claim began")
	require.False(t, c.since("sub_b", before), "another subscription")

	// A change is forgotten once older than keepChanges, when a later one
	// is recorded: each change is popped once, so a burst of changes costs
	// a constant time each.
	for i := range 1000 {
		c.record("sub_" + strconv.Itoa(i%10))
	}
	require.Len(t, c.at, 11)
	time.Sleep(keepChanges + 10*time.Millisecond)
	c.record("sub_3")
	recent := c.at["sub_3"]
	require.Len(t, c.at, 1, "the old changes are gone")
	require.Len(t, c.order, 1)
	require.True(t, c.since("sub_3", recent))
	require.False(t, c.since("sub_a", before), "forgotten: a claim that old is read again anyway")
}
