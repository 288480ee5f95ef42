package webhook

// fifo is a first-in, first-out queue on a slice: pushing and popping cost
// O(1), and the array is reused once half of it is behind the head,
// instead of growing as long as the queue is never empty. The zero value
// is an empty queue. Not safe for concurrent use.
type fifo[T any] struct {
	items []T // items[head:] are queued, oldest first
	head  int
}

// push adds v at the back.
func (q *fifo[T]) push(v T) { q.items = append(q.items, v) }

// len returns the number of values queued.
func (q *fifo[T]) len() int { return len(q.items) - q.head }

// front returns the oldest value; the queue must not be empty.
func (q *fifo[T]) front() T { return q.items[q.head] }

// back returns the newest value; the queue must not be empty.
func (q *fifo[T]) back() T { return q.items[len(q.items)-1] }

// all returns the values queued, oldest first, in the queue's own array:
// valid until the next push or pop.
func (q *fifo[T]) all() []T { return q.items[q.head:] }

// pop removes and returns the oldest value; the queue must not be empty.
func (q *fifo[T]) pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero // let the value be collected
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 64 && q.head >= len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}
