package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is a FlushFunc that records its batches; while gate is open
// (non-nil) the first flush waits on it, so that later calls queue up.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	entered chan struct{}
	gate    chan struct{}
}

func (r *recorder) flush(_ context.Context, batch []int) []error {
	r.mu.Lock()
	r.batches = append(r.batches, batch)
	first := len(r.batches) == 1
	r.mu.Unlock()
	if first && r.gate != nil {
		close(r.entered)
		<-r.gate
	}
	errs := make([]error, len(batch))
	for i, v := range batch {
		if v < 0 {
			errs[i] = fmt.Errorf("item %d refused", v)
		}
	}
	return errs
}

func (r *recorder) written() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[int]int{}
	for _, b := range r.batches {
		for _, v := range b {
			n[v]++
		}
	}
	return n
}

// queued waits until n requests wait in c's queue.
func queued[T any](t *testing.T, c *Committer[T], n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.queue) == n
	}, 5*time.Second, time.Millisecond)
}

func TestDoBatchesWaitingCallers(t *testing.T) {
	t.Parallel()
	rec := &recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	c := New(100, 0, time.Minute, rec.flush)

	first := make(chan error, 1)
	go func() { first <- c.Do(context.Background(), 0) }()
	<-rec.entered // the first call is writing, alone

	const waiting = 10
	results := make(chan error, waiting)
	for i := 1; i <= waiting; i++ {
		v := i
		if i == waiting {
			v = -1 // one item of the batch fails; the others must not
		}
		go func() { results <- c.Do(context.Background(), v) }()
	}
	queued(t, c, waiting)
	close(rec.gate)

	require.NoError(t, <-first)
	var failed int
	for range waiting {
		if err := <-results; err != nil {
			require.ErrorContains(t, err, "item -1 refused")
			failed++
		}
	}
	require.Equal(t, 1, failed, "each caller gets its own item's outcome")
	require.Len(t, rec.batches, 2, "the callers that waited were written in one batch")
	require.Len(t, rec.batches[1], waiting)
}

func TestDoAloneWritesAtOnce(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	c := New(100, 0, time.Minute, rec.flush)
	for i := range 3 {
		require.NoError(t, c.Do(context.Background(), i))
	}
	require.Equal(t, [][]int{{0}, {1}, {2}}, rec.batches)
}

func TestDoMaxBatch(t *testing.T) {
	t.Parallel()
	rec := &recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	c := New(3, 0, time.Minute, rec.flush)
	done := make(chan error, 8)
	go func() { done <- c.Do(context.Background(), 0) }()
	<-rec.entered
	for i := 1; i <= 7; i++ {
		go func() { done <- c.Do(context.Background(), i) }()
	}
	queued(t, c, 7)
	close(rec.gate)
	for range 8 {
		require.NoError(t, <-done)
	}
	for _, b := range rec.batches {
		require.LessOrEqual(t, len(b), 3)
	}
	require.Len(t, rec.written(), 8)
}

// TestDoCallerGivesUp is the case that once hung every later Complete: a
// waiting caller whose context ends must neither lose its item nor strand
// the lead.
func TestDoCallerGivesUp(t *testing.T) {
	t.Parallel()
	rec := &recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	c := New(100, 0, time.Minute, rec.flush)

	first := make(chan error, 1)
	go func() { first <- c.Do(context.Background(), 0) }()
	<-rec.entered

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- c.Do(ctx, 1) }()
	queued(t, c, 1)
	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled)

	close(rec.gate)
	require.NoError(t, <-first)
	done := make(chan error, 1)
	go func() { done <- c.Do(context.Background(), 2) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a later call hangs: the lead was stranded")
	}
	require.Equal(t, map[int]int{0: 1, 1: 1, 2: 1}, rec.written(), "the abandoned item is written once")
}

func TestAbandon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		received      error // already in done when the caller gives up
		wantLead      bool
		wantAbandoned bool
	}{
		{name: "waiting", wantAbandoned: true},
		{name: "handed the lead", received: errLead, wantLead: true},
		{name: "outcome arrived", received: errors.New("written")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &request[int]{done: make(chan error, 1)}
			c := &Committer[int]{writing: true, queue: []*request[int]{r}}
			if tt.received != nil {
				r.done <- tt.received
			}
			require.Equal(t, tt.wantLead, c.abandon(r))
			require.Equal(t, tt.wantAbandoned, r.abandoned)
			require.Equal(t, []*request[int]{r}, c.queue, "still written")
		})
	}
}

func TestDoConcurrent(t *testing.T) {
	t.Parallel()
	for _, linger := range []time.Duration{0, 100 * time.Microsecond} {
		t.Run(fmt.Sprintf("linger=%v", linger), func(t *testing.T) {
			t.Parallel()
			testDoConcurrent(t, linger)
		})
	}
}

func testDoConcurrent(t *testing.T, linger time.Duration) {
	rec := &recorder{}
	c := New(16, linger, time.Minute, rec.flush)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
			defer cancel()
			if i%3 == 0 {
				ctx = context.Background()
			}
			err := c.Do(ctx, i)
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		})
	}
	wg.Wait()
	// Whoever gave up, every item is written exactly once and nothing is
	// left queued or writing.
	require.Eventually(t, func() bool { return len(rec.written()) == 200 }, 5*time.Second, time.Millisecond)
	for v, n := range rec.written() {
		require.Equal(t, 1, n, "item %d", v)
	}
	require.NoError(t, c.Do(context.Background(), 1000))
}

// loaded makes c's last batch hold two requests, as under load: 0 is
// written alone while 1 and 2 queue, then 1 and 2 together.
func loaded(t *testing.T, c *Committer[int], rec *recorder) {
	t.Helper()
	done := make(chan error, 3)
	go func() { done <- c.Do(context.Background(), 0) }()
	<-rec.entered
	for i := 1; i <= 2; i++ {
		go func() { done <- c.Do(context.Background(), i) }()
	}
	queued(t, c, 2)
	close(rec.gate)
	for range 3 {
		require.NoError(t, <-done)
	}
	require.Len(t, rec.batches, 2)
	require.Len(t, rec.batches[1], 2)
}

func TestDoLingersUnderLoad(t *testing.T) {
	t.Parallel()
	rec := &recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	c := New(3, time.Hour, time.Minute, rec.flush)
	loaded(t, c, rec)

	// The next writer waits for more requests, up to maxBatch (an hour
	// otherwise): the three are written together.
	done := make(chan error, 3)
	for i := 3; i <= 5; i++ {
		go func() { done <- c.Do(context.Background(), i) }()
	}
	for range 3 {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the lingering writer did not write the full batch")
		}
	}
	require.Len(t, rec.batches, 3)
	require.ElementsMatch(t, []int{3, 4, 5}, rec.batches[2])
}

func TestDoLingerEnds(t *testing.T) {
	t.Parallel()
	rec := &recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	c := New(100, 10*time.Millisecond, time.Minute, rec.flush)
	loaded(t, c, rec)

	// A lone request after the load waits out the linger and is written
	// alone; the committer is idle again, so the next is written at once.
	require.NoError(t, c.Do(context.Background(), 3))
	require.Equal(t, []int{3}, rec.batches[2])
	c.mu.Lock()
	last := c.lastBatch
	c.mu.Unlock()
	require.Equal(t, 1, last, "idle again: no linger before the next request")
}
