package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
)

// The queue: Enqueue, Claim and its leases, and WorkNotifier.

func testEnqueue(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "proj_1", "*")
	ds := []*webhook.Delivery{
		NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(time.Minute)),
		NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(2*time.Minute)),
		NewDelivery(f.ids, sub, webhook.EventCommentCreated, at(0)),
	}
	ds[1].State = "" // Enqueue stores every delivery as pending
	require.NoError(t, f.s.Enqueue(f.ctx, ds))
	ds[1].State = webhook.StatePending
	for _, d := range ds {
		got := f.get(d.ID)
		requireSameDelivery(t, d, got)
		require.False(t, got.UpdatedAt.IsZero(), "UpdatedAt")
	}

	// Neither the value passed in nor the one returned aliases stored state.
	ds[0].State = webhook.StateFailed
	ds[0].NextAttemptAt = at(time.Hour)
	got := f.get(ds[0].ID)
	got.State = webhook.StateSucceeded
	got.AttemptCount = 7
	got = f.get(ds[0].ID)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.AttemptCount)
	requireSameTime(t, at(time.Minute), got.NextAttemptAt, "NextAttemptAt")

	_, err := f.s.GetDelivery(f.ctx, NewID("dlv_", BaseTime))
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.NoError(t, f.s.Enqueue(f.ctx, nil), "an empty batch is a no-op")

	t.Run("CreatedAt defaults to now", func(t *testing.T) {
		d := NewDelivery(f.ids, sub, webhook.EventTaskDeleted, at(0))
		d.CreatedAt = time.Time{}
		require.NoError(t, f.s.Enqueue(f.ctx, []*webhook.Delivery{d}))
		require.False(t, f.get(d.ID).CreatedAt.IsZero())
	})
}

func testEnqueueAtomic(f *fixture) {
	sub := f.createSub("org_1", "", "*")
	existing := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	tests := []struct {
		name  string
		batch func(fresh []*webhook.Delivery) []*webhook.Delivery
		check func(t *testing.T, err error)
	}{
		{
			name: "id already stored",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				dup := *fresh[2]
				dup.ID = existing.ID
				return []*webhook.Delivery{fresh[0], fresh[1], &dup}
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, webhook.ErrConflict) },
		},
		{
			name: "id twice in the batch",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				dup := *fresh[0]
				return []*webhook.Delivery{fresh[0], fresh[1], &dup}
			},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, webhook.ErrConflict) },
		},
		{
			name: "nil delivery",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				return []*webhook.Delivery{fresh[0], nil, fresh[1]}
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "") },
		},
		{
			name: "empty id",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				fresh[2].ID = ""
				return fresh
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "ID") },
		},
		{
			name: "no subscription",
			batch: func(fresh []*webhook.Delivery) []*webhook.Delivery {
				fresh[2].SubscriptionID = ""
				return fresh
			},
			check: func(t *testing.T, err error) { requireValidationError(t, err, "SubscriptionID") },
		},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			fresh := []*webhook.Delivery{
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
				NewDelivery(f.ids, sub, webhook.EventTaskUpdated, at(0)),
			}
			ids := deliveryIDs(fresh)
			tc.check(t, f.s.Enqueue(f.ctx, tc.batch(fresh)))
			for _, id := range ids {
				if id == existing.ID || id == "" {
					continue
				}
				_, err := f.s.GetDelivery(f.ctx, id)
				require.ErrorIs(t, err, webhook.ErrNotFound, "part of a failed batch was stored")
			}
		})
	}
	// The stored delivery is untouched and the queue holds it alone.
	requireSameDelivery(f.t, existing, f.get(existing.ID))
	f.claimOne(at(time.Hour), existing.ID)
}

func testClaimDueOnly(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d3 := f.enqueue(sub, webhook.EventTaskCreated, at(3*time.Minute))
	d1 := f.enqueue(sub, webhook.EventTaskCreated, at(1*time.Minute))
	d2 := f.enqueue(sub, webhook.EventTaskCreated, at(2*time.Minute))
	d10 := f.enqueue(sub, webhook.EventTaskCreated, at(10*time.Minute))

	require.Empty(t, f.claim(at(0), 10), "nothing is due yet")
	require.Empty(t, f.claim(at(time.Minute-time.Millisecond), 10), "nothing is due yet")

	// Due at exactly now counts; oldest due first.
	now := at(2 * time.Minute)
	got := f.claim(now, 10)
	require.Equal(t, []string{d1.ID, d2.ID}, deliveryIDs(got))
	for _, d := range got {
		require.Equal(t, webhook.StateDelivering, d.State)
		requireSameTime(t, now.Add(lease), d.LeaseExpiresAt, "LeaseExpiresAt")
		stored := f.get(d.ID)
		require.Equal(t, webhook.StateDelivering, stored.State)
		requireSameTime(t, now.Add(lease), stored.LeaseExpiresAt, "stored LeaseExpiresAt")
	}
	require.Empty(t, f.claim(now, 10), "held deliveries are not claimed again")

	got = f.claim(at(5*time.Minute), 10)
	require.Equal(t, []string{d3.ID}, deliveryIDs(got))
	requireSameDelivery(t, &webhook.Delivery{
		ID: d3.ID, EventID: d3.EventID, EventType: d3.EventType, SubscriptionID: d3.SubscriptionID,
		OrganizationID: d3.OrganizationID, ProjectID: d3.ProjectID, Body: d3.Body,
		State: webhook.StateDelivering, NextAttemptAt: d3.NextAttemptAt, CreatedAt: d3.CreatedAt,
	}, got[0])
	f.claimOne(at(10*time.Minute), d10.ID)

	t.Run("invalid arguments", func(t *testing.T) {
		_, err := f.s.Claim(f.ctx, at(time.Hour), 0, lease, nil)
		requireValidationError(t, err, "")
		_, err = f.s.Claim(f.ctx, at(time.Hour), 10, 0, nil)
		requireValidationError(t, err, "")
	})
}

func testClaimLimit(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	var want []string
	for i := range 5 {
		// Enqueued in reverse due order: the claim order must come from
		// NextAttemptAt, not from insertion or id order.
		d := f.enqueue(sub, webhook.EventTaskCreated, at(time.Duration(5-i)*time.Second))
		want = append([]string{d.ID}, want...)
	}
	now := at(time.Minute)
	var got []string
	for _, n := range []int{2, 2, 1} {
		ds := f.claim(now, 2)
		require.Len(t, ds, n)
		got = append(got, deliveryIDs(ds)...)
	}
	require.Equal(t, want, got, "oldest due first")
	require.Empty(t, f.claim(now, 2))
}

// testClaimReturnsSubscription checks the subscription Claim returns with
// each delivery: its own, as last updated before the claim (claimLease
// compares it with GetSubscription's), and unchanged by later updates,
// which the Dispatcher relies on when it reads it during the attempt.
func testClaimReturnsSubscription(f *fixture) {
	t := f.t
	a := f.createSub("org_1", "", "*")
	b := f.createSub("org_1", "proj_1", "task.*")
	rotated := *a
	rotated.URL = "https://hooks.example.com/moved"
	rotated.Secrets = []webhook.SigningSecret{
		{Secret: webhook.Secret("whsec_" + strings.Repeat("B", 43) + "="), CreatedAt: at(time.Second)},
		{Secret: a.Secrets[0].Secret, CreatedAt: a.Secrets[0].CreatedAt, ExpiresAt: at(time.Hour)},
	}
	require.NoError(t, f.s.UpdateSubscription(f.ctx, &rotated))
	da1 := f.enqueue(a, webhook.EventTaskCreated, at(0))
	db := f.enqueue(b, webhook.EventTaskCreated, at(time.Millisecond))
	da2 := f.enqueue(a, webhook.EventTaskUpdated, at(2*time.Millisecond))

	cs, err := f.s.Claim(f.ctx, at(time.Minute), 10, lease, nil)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	want := map[string]string{da1.ID: a.ID, db.ID: b.ID, da2.ID: a.ID}
	for _, c := range cs {
		require.NotNil(t, c.Delivery)
		require.NotNil(t, c.Subscription, "delivery %s claimed without its subscription", c.Delivery.ID)
		require.Equal(t, want[c.Delivery.ID], c.Subscription.ID, "subscription of delivery %s", c.Delivery.ID)
		stored, err := f.s.GetSubscription(f.ctx, c.Subscription.ID)
		require.NoError(t, err)
		requireSameSubscription(t, stored, c.Subscription)
	}

	again := rotated
	again.URL = "https://hooks.example.com/moved-again"
	again.Secrets = []webhook.SigningSecret{{Secret: webhook.Secret("whsec_" + strings.Repeat("C", 43) + "="), CreatedAt: at(2 * time.Second)}}
	require.NoError(t, f.s.UpdateSubscription(f.ctx, &again))
	for _, c := range cs {
		if c.Subscription.ID == a.ID {
			require.Equal(t, rotated.URL, c.Subscription.URL, "a claimed subscription is a snapshot")
			require.Len(t, c.Subscription.Secrets, 2, "a claimed subscription is a snapshot")
		}
	}
}

// testClaimSkip checks that Claim leaves the deliveries of skipped
// subscriptions pending, in their place, and claims those due after them,
// including a skipped subscription's delivery whose lease expired.
func testClaimSkip(f *fixture) {
	t := f.t
	busy := f.createSub("org_1", "", "*")
	other := f.createSub("org_1", "", "*")
	third := f.createSub("org_1", "", "*")
	b1 := f.enqueue(busy, webhook.EventTaskCreated, at(1*time.Second))
	b2 := f.enqueue(busy, webhook.EventTaskCreated, at(2*time.Second))
	o1 := f.enqueue(other, webhook.EventTaskCreated, at(3*time.Second))
	b3 := f.enqueue(busy, webhook.EventTaskCreated, at(4*time.Second))
	t1 := f.enqueue(third, webhook.EventTaskCreated, at(5*time.Second))

	// A lease on b1 that expires before b2 is due.
	leased := f.claimLease(at(time.Second), 1, time.Second/2)
	require.Equal(t, []string{b1.ID}, deliveryIDs(leased))

	now := at(time.Minute)
	got := f.claimSkip(now, 10, lease, []string{busy.ID})
	require.Equal(t, []string{o1.ID, t1.ID}, deliveryIDs(got), "the deliveries due after the skipped ones")
	for _, d := range []*webhook.Delivery{b2, b3} {
		require.Equal(t, webhook.StatePending, f.get(d.ID).State, "a skipped delivery stays pending")
	}
	require.Empty(t, f.claimSkip(now, 10, lease, []string{busy.ID, "sub_unknown"}))

	got = f.claimSkip(now, 2, lease, []string{other.ID})
	require.Equal(t, []string{b1.ID, b2.ID}, deliveryIDs(got), "skipped deliveries keep their place")
	got = f.claim(now, 10)
	require.Equal(t, []string{b3.ID}, deliveryIDs(got))
}

func testLeaseExpiry(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	first := f.claimLease(at(0), 10, 30*time.Second)
	require.Equal(t, []string{d.ID}, deliveryIDs(first))
	requireSameTime(t, at(30*time.Second), first[0].LeaseExpiresAt, "LeaseExpiresAt")

	// The lease expires strictly after LeaseExpiresAt.
	none := f.claimLease(at(30*time.Second), 10, 30*time.Second)
	require.Empty(t, none, "claimed before the lease expired")

	second := f.claimLease(at(31*time.Second), 10, 30*time.Second)
	require.Equal(t, []string{d.ID}, deliveryIDs(second), "an expired lease lets another claimer take the delivery")
	requireSameTime(t, at(61*time.Second), second[0].LeaseExpiresAt, "LeaseExpiresAt")

	// The first claimer lost its lease; the second holds it.
	first[0].State = webhook.StateSucceeded
	first[0].AttemptCount = 1
	require.ErrorIs(t, f.s.Complete(f.ctx, first[0], &webhook.Attempt{Number: 1, StatusCode: 200, StartedAt: at(0)}), webhook.ErrLeaseLost)
	require.ErrorIs(t, f.s.Release(f.ctx, first[0], at(0)), webhook.ErrLeaseLost)
	f.complete(second[0], webhook.StateSucceeded, 200, time.Time{})
	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the attempt of the lost lease was recorded")
}

func testConcurrentClaimers(f *fixture) {
	t := f.t
	const (
		total    = 500
		claimers = 4
		limit    = 7
	)
	var subs []*webhook.Subscription
	for i := range 5 {
		subs = append(subs, f.createSub("org_1", fmt.Sprintf("proj_%d", i), "*"))
	}
	var batch []*webhook.Delivery
	for i := range total {
		batch = append(batch, NewDelivery(f.ids, subs[i%len(subs)], webhook.EventTaskUpdated, at(time.Duration(i)*time.Millisecond)))
	}
	require.NoError(t, f.s.Enqueue(f.ctx, batch))

	var (
		mu       sync.Mutex
		holder   = make(map[string]int) // delivery id → claimer holding it
		claims   = make(map[string]int) // delivery id → times claimed
		released = make(map[string]bool)
	)
	now := at(time.Minute)
	g, ctx := errgroup.WithContext(f.ctx)
	for c := range claimers {
		g.Go(func() error {
			for {
				cs, err := f.s.Claim(ctx, now, limit, lease, nil)
				if err != nil {
					return fmt.Errorf("claimer %d: Claim: %w", c, err)
				}
				if len(cs) == 0 {
					return nil
				}
				if len(cs) > limit {
					return fmt.Errorf("claimer %d: Claim returned %d > limit %d", c, len(cs), limit)
				}
				ds := make([]*webhook.Delivery, len(cs))
				for i, cl := range cs {
					if cl.Subscription == nil || cl.Subscription.ID != cl.Delivery.SubscriptionID {
						return fmt.Errorf("claimer %d: delivery %s claimed without its subscription", c, cl.Delivery.ID)
					}
					ds[i] = cl.Delivery
				}
				mu.Lock()
				for _, d := range ds {
					if h, held := holder[d.ID]; held {
						mu.Unlock()
						return fmt.Errorf("delivery %s claimed by %d while %d holds it", d.ID, c, h)
					}
					holder[d.ID] = c
					claims[d.ID]++
				}
				mu.Unlock()
				for i, d := range ds {
					mu.Lock()
					release := i%2 == 0 && !released[d.ID] // hand some back to be claimed again
					released[d.ID] = released[d.ID] || release
					delete(holder, d.ID) // before the store lets anyone else take it
					mu.Unlock()
					if release {
						if err := f.s.Release(ctx, d, now); err != nil {
							return fmt.Errorf("claimer %d: Release: %w", c, err)
						}
						continue
					}
					d.State = webhook.StateSucceeded
					d.AttemptCount++
					a := &webhook.Attempt{DeliveryID: d.ID, Number: d.AttemptCount, StartedAt: now, StatusCode: 200}
					if err := f.s.Complete(ctx, d, a); err != nil {
						return fmt.Errorf("claimer %d: Complete: %w", c, err)
					}
				}
			}
		})
	}
	require.NoError(t, g.Wait())

	require.Len(t, claims, total, "every delivery was claimed")
	for _, d := range batch {
		want := 1
		if released[d.ID] {
			want = 2
		}
		require.Equal(t, want, claims[d.ID], "claims of %s", d.ID)
		got := f.get(d.ID)
		require.Equal(t, webhook.StateSucceeded, got.State)
		require.Equal(t, 1, got.AttemptCount)
	}
}

func testWorkNotifier(f *fixture) {
	n, ok := f.s.(webhook.WorkNotifier)
	if !ok {
		f.t.Skipf("%T does not implement webhook.WorkNotifier", f.s)
	}
	t := f.t
	ch := n.WorkAvailable()
	require.NotNil(t, ch)
	drain := func() {
		for {
			select {
			case <-ch:
			default:
				return
			}
		}
	}
	await := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "WorkAvailable did not signal after "+what)
		}
	}

	sub := f.createSub("org_1", "", "*")
	drain()
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	await("Enqueue")

	held := f.claimOne(at(0), d.ID)
	drain()
	require.NoError(t, f.s.Release(f.ctx, held, at(0)))
	await("Release")

	// Signals coalesce: many enqueues never block the store.
	for range 100 {
		f.enqueue(sub, webhook.EventTaskCreated, at(0))
	}
	await("100 Enqueues")
}
