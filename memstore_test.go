package webhook_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
	"github.com/onplana/webhook/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store { return webhook.NewMemoryStore() })
}

func TestMemoryStoreEncryption(t *testing.T) {
	t.Parallel()
	storetest.RunEncryption(t, func(t *testing.T) storetest.OpenFunc {
		var s *webhook.MemoryStore
		return func(keys *keyring.Ring) (webhook.Store, error) {
			if s == nil {
				s = webhook.NewMemoryStoreWithKeys(keys)
				return s, nil
			}
			return webhook.ReopenMemoryStore(s, keys), nil
		}
	})
}

// memFixture is a MemoryStore with one subscription to every event.
func memFixture(t *testing.T) (*webhook.MemoryStore, *storetest.IDGenerator, *webhook.Subscription) {
	t.Helper()
	s := webhook.NewMemoryStore()
	ids := storetest.NewIDGenerator(storetest.BaseTime)
	sub := storetest.NewSubscription(ids, "org_1", "", "*")
	require.NoError(t, s.CreateSubscription(t.Context(), sub))
	return s, ids, sub
}

func TestMemoryStoreSharesBodyReadOnly(t *testing.T) {
	t.Parallel()
	s, ids, sub := memFixture(t)
	d := storetest.NewDelivery(ids, sub, webhook.EventTaskCreated, storetest.BaseTime)
	require.NoError(t, s.Enqueue(t.Context(), []*webhook.Delivery{d}))
	got, err := s.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	require.Same(t, &d.Body[0], &got.Body[0], "the documented contract: Body is kept, not copied")
}

func TestMemoryStoreMatchOrder(t *testing.T) {
	t.Parallel()
	s, ids, first := memFixture(t)
	want := []string{first.ID}
	for i := range 20 {
		project := ""
		if i%2 == 0 {
			project = "proj_1"
		}
		sub := storetest.NewSubscription(ids, "org_1", project, "task.*", "task.created")
		require.NoError(t, s.CreateSubscription(t.Context(), sub))
		want = append(want, sub.ID)
	}
	got, err := s.MatchSubscriptionIDs(t.Context(), "org_1", "proj_1", webhook.EventTaskCreated)
	require.NoError(t, err)
	require.Equal(t, want, got, "ascending id, each once")
}

func TestMemoryStoreContextDone(t *testing.T) {
	t.Parallel()
	s, ids, sub := memFixture(t)
	d := storetest.NewDelivery(ids, sub, webhook.EventTaskCreated, storetest.BaseTime)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"CreateSubscription": func() error { return s.CreateSubscription(ctx, storetest.NewSubscription(ids, "org_1", "", "*")) },
		"GetSubscription":    func() error { _, err := s.GetSubscription(ctx, sub.ID); return err },
		"ListSubscriptions":  func() error { _, _, err := s.ListSubscriptions(ctx, "org_1", webhook.Page{}); return err },
		"UpdateSubscription": func() error { return s.UpdateSubscription(ctx, sub) },
		"DeleteSubscription": func() error { return s.DeleteSubscription(ctx, sub.ID) },
		"MatchSubscriptionIDs": func() error {
			_, err := s.MatchSubscriptionIDs(ctx, "org_1", "", webhook.EventTaskCreated)
			return err
		},
		"Enqueue":        func() error { return s.Enqueue(ctx, []*webhook.Delivery{d}) },
		"Claim":          func() error { _, err := s.Claim(ctx, storetest.BaseTime, 1, time.Minute, nil); return err },
		"Complete":       func() error { return s.Complete(ctx, d, &webhook.Attempt{}) },
		"Release":        func() error { return s.Release(ctx, d, storetest.BaseTime) },
		"GetDelivery":    func() error { _, err := s.GetDelivery(ctx, d.ID); return err },
		"ListDeliveries": func() error { _, _, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{}); return err },
		"ListAttempts":   func() error { _, err := s.ListAttempts(ctx, d.ID); return err },
		"Redeliver":      func() error { return s.Redeliver(ctx, d.ID, storetest.BaseTime) },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), context.Canceled, name)
	}
	// Nothing changed.
	_, err := s.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	_, err = s.GetDelivery(t.Context(), d.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestMemoryStoreDeletedSubscriptionInFlight(t *testing.T) {
	t.Parallel()
	s, ids, sub := memFixture(t)
	ctx := t.Context()
	base := storetest.BaseTime
	a := storetest.NewDelivery(ids, sub, webhook.EventTaskCreated, base)
	b := storetest.NewDelivery(ids, sub, webhook.EventTaskCreated, base.Add(time.Millisecond))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{a, b}))
	held, err := s.Claim(ctx, base.Add(time.Millisecond), 2, time.Minute, nil)
	require.NoError(t, err)
	require.Len(t, held, 2)
	require.NoError(t, s.DeleteSubscription(ctx, sub.ID))

	// An attempt in flight completes normally and stays in the log.
	held[0].Delivery.State = webhook.StateFailed
	held[0].Delivery.AttemptCount = 1
	require.NoError(t, s.Complete(ctx, held[0].Delivery, &webhook.Attempt{Number: 1, StatusCode: 500}))
	require.ErrorIs(t, s.Redeliver(ctx, a.ID, base), webhook.ErrConflict, "its subscription is gone")

	// One whose lease expires is discarded like a pending one.
	none, err := s.Claim(ctx, base.Add(time.Hour), 10, time.Minute, nil)
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = s.GetDelivery(ctx, b.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	got, err := s.GetDelivery(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, got.State)
}

func TestMemoryStoreWorkAvailableIsOneChannel(t *testing.T) {
	t.Parallel()
	s := webhook.NewMemoryStore()
	require.Equal(t, s.WorkAvailable(), s.WorkAvailable())
}

// TestMemoryStoreQueueModel drives the queue with random operations and
// checks every Claim against a plain reference model: a sort of every
// claimable delivery by due time, then id.
func TestMemoryStoreQueueModel(t *testing.T) {
	t.Parallel()
	s, ids, sub := memFixture(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))

	type ref struct {
		state     webhook.DeliveryState
		next      time.Time
		lease     time.Time
		held      *webhook.Delivery // the copy Claim returned
		attempts  int
		createdAt time.Time
	}
	model := make(map[string]*ref)
	now := storetest.BaseTime
	const leaseFor = 30 * time.Second

	for step := range 1500 {
		now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 3: // enqueue a small batch
			var batch []*webhook.Delivery
			for range 1 + rng.IntN(4) {
				d := storetest.NewDelivery(ids, sub, webhook.EventTaskUpdated, now.Add(time.Duration(rng.IntN(60_000)-10_000)*time.Millisecond))
				batch = append(batch, d)
				model[d.ID] = &ref{state: webhook.StatePending, next: d.NextAttemptAt, createdAt: d.CreatedAt}
			}
			require.NoError(t, s.Enqueue(ctx, batch))
		case op < 6: // claim
			limit := 1 + rng.IntN(6)
			type cand struct {
				id  string
				key time.Time
			}
			var cands []cand
			for id, r := range model {
				switch {
				case r.state == webhook.StatePending && !r.next.After(now):
					cands = append(cands, cand{id, r.next})
				case r.state == webhook.StateDelivering && r.lease.Before(now):
					cands = append(cands, cand{id, r.lease.Add(time.Nanosecond)})
				}
			}
			slices.SortFunc(cands, func(a, b cand) int {
				if c := a.key.Compare(b.key); c != 0 {
					return c
				}
				return cmp.Compare(a.id, b.id)
			})
			want := []string{}
			for _, c := range cands[:min(limit, len(cands))] {
				want = append(want, c.id)
			}
			got, err := s.Claim(ctx, now, limit, leaseFor, nil)
			require.NoError(t, err)
			gotIDs := []string{}
			for _, c := range got {
				d := c.Delivery
				gotIDs = append(gotIDs, d.ID)
				r := model[d.ID]
				r.state, r.lease, r.held = webhook.StateDelivering, now.Add(leaseFor), d
			}
			require.Equal(t, want, gotIDs, "step %d: Claim at %v limit %d", step, now, limit)
		default: // finish something held, possibly with a stale lease
			var heldIDs []string
			for id, r := range model {
				if r.held != nil {
					heldIDs = append(heldIDs, id)
				}
			}
			if len(heldIDs) == 0 {
				continue
			}
			slices.Sort(heldIDs)
			id := heldIDs[rng.IntN(len(heldIDs))]
			r := model[id]
			d := r.held
			r.held = nil
			valid := r.state == webhook.StateDelivering && r.lease.Equal(d.LeaseExpiresAt)
			var err error
			switch rng.IntN(4) {
			case 0:
				due := now.Add(time.Duration(rng.IntN(20_000)) * time.Millisecond)
				err = s.Release(ctx, d, due)
				if valid {
					r.state, r.next = webhook.StatePending, due
				}
			case 1:
				d.State, d.AttemptCount, d.NextAttemptAt = webhook.StatePending, d.AttemptCount+1, now.Add(time.Duration(rng.IntN(30_000))*time.Millisecond)
				err = s.Complete(ctx, d, &webhook.Attempt{Number: d.AttemptCount, StatusCode: 503})
				if valid {
					r.state, r.next = webhook.StatePending, d.NextAttemptAt
					r.attempts++
				}
			default:
				d.State, d.AttemptCount = webhook.StateSucceeded, d.AttemptCount+1
				err = s.Complete(ctx, d, &webhook.Attempt{Number: d.AttemptCount, StatusCode: 200})
				if valid {
					r.state = webhook.StateSucceeded
					r.attempts++
				}
			}
			if valid {
				require.NoError(t, err, "step %d", step)
			} else {
				require.ErrorIs(t, err, webhook.ErrLeaseLost, "step %d", step)
			}
		}
	}
	for id, r := range model {
		got, err := s.GetDelivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, r.state, got.State, id)
		attempts, err := s.ListAttempts(ctx, id)
		require.NoError(t, err)
		require.Len(t, attempts, r.attempts, id)
	}
}

// BenchmarkMemoryStorePendingMemory measures the heap held per pending
// delivery: 100,000 deliveries of a 1 KiB body, each with its own ids.
func BenchmarkMemoryStorePendingMemory(b *testing.B) {
	const n = 100_000
	const bodySize = 1024
	ctx := context.Background()
	ids := storetest.NewIDGenerator(storetest.BaseTime)
	sub := storetest.NewSubscription(ids, "org_1", "proj_1", "*")
	var perDelivery float64
	for b.Loop() {
		s := webhook.NewMemoryStore()
		if err := s.CreateSubscription(ctx, sub); err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			d := storetest.NewDelivery(ids, sub, webhook.EventTaskUpdated, storetest.BaseTime)
			d.Body = make([]byte, bodySize) // NewDelivery's envelope replaced by a 1 KiB body
			if err := s.Enqueue(ctx, []*webhook.Delivery{d}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perDelivery = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perDelivery, "B/pending")
	b.ReportMetric(perDelivery-bodySize, "B/pending-overhead")
}

// BenchmarkMemoryStoreMatch matches one event in a store of 1,000 or 100,000
// subscriptions spread over 1,000 organizations; every run matches the same
// 10 subscriptions.
func BenchmarkMemoryStoreMatch(b *testing.B) {
	for _, total := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("subscriptions=%d", total), func(b *testing.B) {
			ctx := context.Background()
			s := webhook.NewMemoryStore()
			ids := storetest.NewIDGenerator(storetest.BaseTime)
			patterns := [][]string{{"task.*"}, {"*"}, {"task.created", "comment.created"}, {"project.*"}}
			for i := range total {
				org := fmt.Sprintf("org_%d", i%1000)
				project := ""
				if i%3 == 0 {
					project = fmt.Sprintf("proj_%d", i%7)
				}
				sub := storetest.NewSubscription(ids, org, project, patterns[i%len(patterns)]...)
				if err := s.CreateSubscription(ctx, sub); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 10 {
				sub := storetest.NewSubscription(ids, "org_target", "", patterns[i%3]...)
				if err := s.CreateSubscription(ctx, sub); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				ids, err := s.MatchSubscriptionIDs(ctx, "org_target", "proj_1", webhook.EventTaskCreated)
				if err != nil || len(ids) != 10 {
					b.Fatalf("matched %d, %v", len(ids), err)
				}
			}
		})
	}
}

// BenchmarkMemoryStoreClaimComplete claims and completes deliveries 64 at a
// time from a queue of 1,000 or 100,000 pending ones (refilled as it drains).
func BenchmarkMemoryStoreClaimComplete(b *testing.B) {
	for _, queued := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("pending=%d", queued), func(b *testing.B) {
			ctx := context.Background()
			s := webhook.NewMemoryStore()
			ids := storetest.NewIDGenerator(storetest.BaseTime)
			sub := storetest.NewSubscription(ids, "org_1", "", "*")
			if err := s.CreateSubscription(ctx, sub); err != nil {
				b.Fatal(err)
			}
			enqueue := func(n int) {
				batch := make([]*webhook.Delivery, n)
				for i := range batch {
					batch[i] = storetest.NewDelivery(ids, sub, webhook.EventTaskUpdated, storetest.BaseTime)
				}
				if err := s.Enqueue(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			enqueue(queued)
			now := storetest.BaseTime.Add(time.Hour)
			b.ReportAllocs()
			rounds := 0
			for b.Loop() {
				rounds++
				ds, err := s.Claim(ctx, now, 64, time.Minute, nil)
				if err != nil || len(ds) != 64 {
					b.Fatalf("claimed %d, %v", len(ds), err)
				}
				for _, c := range ds {
					d := c.Delivery
					d.State, d.AttemptCount = webhook.StateSucceeded, 1
					if err := s.Complete(ctx, d, &webhook.Attempt{Number: 1, StatusCode: 200}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				enqueue(64)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rounds*64), "ns/delivery")
		})
	}
}
