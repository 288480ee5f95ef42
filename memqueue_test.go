package webhook

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPendingQueueOrder pushes deliveries due in and out of order, before
// and after now, removes some, and checks that the queue gives back every
// remaining one, due first first, as one heap would.
func TestPendingQueueOrder(t *testing.T) {
	t.Parallel()
	const now = int64(1_000_000)
	tests := []struct {
		name string
		keys func(r *rand.Rand, i int) int64 // due key of the i-th push
	}{
		{"in order, all due", func(_ *rand.Rand, i int) int64 { return int64(i) }},
		{"in order, some later", func(_ *rand.Rand, i int) int64 { return now - 2000 + int64(i)*2 }},
		{"shuffled", func(r *rand.Rand, _ int) int64 { return now - 1000 + r.Int64N(2000) }},
		{"mostly in order", func(r *rand.Rand, i int) int64 {
			if r.IntN(10) == 0 {
				return now - r.Int64N(now)
			}
			return int64(i) * 100
		}},
		{"equal keys", func(r *rand.Rand, _ int) int64 { return now - r.Int64N(3) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			var q pendingQueue
			var live []dueEntry
			for i := range 5000 {
				md := &memDelivery{heapIdx: -1}
				md.d.ID = fmt.Sprintf("dlv_%05d_%d", r.IntN(100000), i) // unique, in random order
				md.d.State = StatePending
				md.d.NextAttemptAt = keyTime(tt.keys(r, i))
				q.push(md, now)
				live = append(live, dueEntry{dueKey(md.due()), md})
				if r.IntN(7) == 0 { // a deleted delivery, anywhere in the queue
					k := r.IntN(len(live))
					q.remove(live[k].md)
					live = slices.Delete(live, k, k+1)
				}
				if r.IntN(11) == 0 { // a claim in between
					e, ok := q.first()
					require.True(t, ok)
					want := slices.MinFunc(live, cmpDue)
					require.Equal(t, want, e)
					require.Same(t, want.md, q.pop())
					live = slices.DeleteFunc(live, func(x dueEntry) bool { return x == want })
				}
			}
			slices.SortFunc(live, cmpDue)
			require.Equal(t, len(live), q.len()-removedCount(&q))
			for _, want := range live {
				e, ok := q.first()
				require.True(t, ok)
				require.Equal(t, want.key, e.key)
				require.Same(t, want.md, q.pop())
				require.Equal(t, -1, want.md.heapIdx, "a popped delivery is in no queue")
			}
			_, ok := q.first()
			require.False(t, ok, "empty")
			require.Zero(t, q.len())
		})
	}
}

// keyTime is the time whose dueKey is key.
func keyTime(key int64) time.Time { return time.Unix(0, key) }

func cmpDue(a, b dueEntry) int {
	switch {
	case dueBefore(a, b):
		return -1
	case dueBefore(b, a):
		return 1
	}
	return 0
}

// removedCount counts the removed deliveries still in q's FIFO.
func removedCount(q *pendingQueue) int {
	n := 0
	for _, e := range q.ready.all() {
		if e.md.heapIdx != inReady {
			n++
		}
	}
	return n
}
