package webhook

import (
	"container/heap"
	"math"
	"time"
)

// pendingQueue holds a MemoryStore's pending deliveries by when they are
// due. Most are due when they are enqueued and are enqueued in the order
// they fall due (a Publish's deliveries are due at once and their ids
// increase): those wait in a FIFO, where adding and taking one costs O(1)
// instead of sifts through a heap of every pending delivery, each step a
// cache miss when thousands wait. The rest (retries, deliveries due later,
// any that would break the FIFO's order) wait in a heap. The first due is
// the earlier of the two heads.
//
// A delivery in the FIFO has heapIdx inReady. One taken out of the middle
// (remove) is left in place with heapIdx -1 and skipped when it reaches
// the head; it never returns to the queue, having been deleted.
type pendingQueue struct {
	ready fifo[dueEntry] // ascending by dueBefore; due when pushed
	later dueQueue
}

// inReady is the heapIdx of a delivery in a pendingQueue's FIFO.
const inReady = -2

// push adds md, pending, to the queue; nowKey is dueKey of the present.
func (q *pendingQueue) push(md *memDelivery, nowKey int64) {
	e := dueEntry{dueKey(md.due()), md}
	if e.key <= nowKey && (q.ready.len() == 0 || !dueBefore(e, q.ready.back())) {
		md.heapIdx = inReady
		q.ready.push(e)
		return
	}
	heap.Push(&q.later, md)
}

// first returns the entry due first, skipping removed ones, or false when
// the queue is empty.
func (q *pendingQueue) first() (dueEntry, bool) {
	for q.ready.len() > 0 && q.ready.front().md.heapIdx != inReady {
		q.ready.pop()
	}
	switch {
	case q.ready.len() == 0 && len(q.later) == 0:
		return dueEntry{}, false
	case q.ready.len() == 0:
		return q.later[0], true
	case len(q.later) == 0 || dueBefore(q.ready.front(), q.later[0]):
		return q.ready.front(), true
	}
	return q.later[0], true
}

// pop removes and returns the delivery due first; the queue must not be
// empty (first reported true).
func (q *pendingQueue) pop() *memDelivery {
	e, _ := q.first()
	if q.ready.len() > 0 && q.ready.front() == e {
		q.ready.pop()
		e.md.heapIdx = -1
		return e.md
	}
	return heap.Pop(&q.later).(*memDelivery)
}

// remove takes md, which is in the queue, out of it.
func (q *pendingQueue) remove(md *memDelivery) {
	if md.heapIdx == inReady {
		md.heapIdx = -1
		return
	}
	heap.Remove(&q.later, md.heapIdx)
}

// len returns an upper bound of the number of pending deliveries.
func (q *pendingQueue) len() int { return q.ready.len() + len(q.later) }

// dueQueue is a min-heap of deliveries by due time, ties broken by id so the
// order is deterministic. Each entry carries its key, set by Push: a sift
// compares keys without computing due() or loading the delivery, which in
// a queue of many thousands is a cache miss.
type dueQueue []dueEntry

// dueEntry is one delivery in a dueQueue and its key.
type dueEntry struct {
	key int64 // dueKey(md.due()) when it was pushed
	md  *memDelivery
}

// dueKey is t in Unix nanoseconds, which compare faster than times,
// clamped to the years 1678 to 2262 that int64 nanoseconds can hold (the
// zero time, due at once, is the smallest key).
func dueKey(t time.Time) int64 {
	switch {
	case t.Before(minDueKeyTime):
		return math.MinInt64
	case t.After(maxDueKeyTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minDueKeyTime = time.Unix(0, math.MinInt64)
	maxDueKeyTime = time.Unix(0, math.MaxInt64)
)

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return dueBefore(q[i], q[j]) }

// dueBefore reports whether a comes before b in a dueQueue.
func dueBefore(a, b dueEntry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.md.d.ID < b.md.d.ID
}

func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].md.heapIdx = i
	q[j].md.heapIdx = j
}

func (q *dueQueue) Push(x any) {
	md := x.(*memDelivery)
	md.heapIdx = len(*q)
	*q = append(*q, dueEntry{dueKey(md.due()), md})
}

func (q *dueQueue) Pop() any {
	old := *q
	n := len(old)
	md := old[n-1].md
	old[n-1] = dueEntry{}
	md.heapIdx = -1
	*q = old[:n-1]
	return md
}
