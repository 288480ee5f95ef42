package storetest

import (
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// traceparent is a W3C trace context, what otelwebhook stores.
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func testTraceContext(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	traced := NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(0))
	traced.TraceContext = traceparent
	plain := NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(0))
	require.NoError(t, f.s.Enqueue(f.ctx, []*webhook.Delivery{traced, plain}))

	byID := func(ds []*webhook.Delivery) map[string]string {
		m := make(map[string]string, len(ds))
		for _, d := range ds {
			m[d.ID] = d.TraceContext
		}
		return m
	}
	want := map[string]string{traced.ID: traceparent, plain.ID: ""}
	claimed := f.claim(at(0), 10)
	require.Equal(t, want, byID(claimed), "Claim returns TraceContext as enqueued")
	require.Equal(t, traceparent, f.get(traced.ID).TraceContext, "GetDelivery returns TraceContext")
	listed, _, err := f.s.ListDeliveries(f.ctx, webhook.DeliveryQuery{SubscriptionID: sub.ID})
	require.NoError(t, err)
	require.Equal(t, want, byID(listed), "ListDeliveries returns TraceContext")

	// A retry keeps it.
	for _, d := range claimed {
		if d.ID == traced.ID {
			f.complete(d, webhook.StatePending, 503, at(time.Minute))
		}
	}
	require.Equal(t, traceparent, f.claimOne(at(time.Minute), traced.ID).TraceContext, "a retry's claim returns TraceContext")
}

func testQueueStats(f *fixture) {
	qs, ok := f.s.(webhook.QueueStatsStore)
	if !ok {
		f.t.Skipf("%T does not implement webhook.QueueStatsStore", f.s)
	}
	t := f.t
	stats := func() webhook.QueueStats {
		t.Helper()
		st, err := qs.QueueStats(f.ctx)
		require.NoError(t, err)
		return st
	}
	requireStats := func(want, got webhook.QueueStats, when string) {
		t.Helper()
		require.Equal(t, want.Pending, got.Pending, "Pending %s", when)
		require.Equal(t, want.Delivering, got.Delivering, "Delivering %s", when)
		require.Equal(t, want.Held, got.Held, "Held %s", when)
		requireSameTime(t, want.OldestCreatedAt, got.OldestCreatedAt, "OldestCreatedAt "+when)
		requireSameTime(t, want.NextDueAt, got.NextDueAt, "NextDueAt "+when)
	}
	requireStats(webhook.QueueStats{}, stats(), "of an empty store")

	a := f.createSub("org_1", "", "*")
	b := f.createSub("org_1", "", "*")
	// Created in this order: b1 is the oldest.
	b1 := f.enqueue(b, webhook.EventTaskCreated, at(time.Second))
	a1 := f.enqueue(a, webhook.EventTaskCreated, at(0))
	a2 := f.enqueue(a, webhook.EventTaskCreated, at(time.Hour))
	requireStats(webhook.QueueStats{Pending: 3, OldestCreatedAt: b1.CreatedAt, NextDueAt: at(0)}, stats(), "after three enqueues")

	held := f.claimOne(at(0), a1.ID)
	requireStats(webhook.QueueStats{Pending: 2, Delivering: 1, OldestCreatedAt: b1.CreatedAt, NextDueAt: at(time.Second)},
		stats(), "with one delivering")

	b.Disabled, b.DisabledReason = true, "storetest"
	require.NoError(t, f.s.UpdateSubscription(f.ctx, b))
	requireStats(webhook.QueueStats{Pending: 1, Delivering: 1, Held: 1, OldestCreatedAt: a1.CreatedAt, NextDueAt: at(time.Hour)},
		stats(), "with a disabled subscription's delivery held")

	f.complete(held, webhook.StateSucceeded, 200, time.Time{})
	requireStats(webhook.QueueStats{Pending: 1, Held: 1, OldestCreatedAt: a2.CreatedAt, NextDueAt: at(time.Hour)},
		stats(), "after a success")

	b.Disabled, b.DisabledReason = false, ""
	require.NoError(t, f.s.UpdateSubscription(f.ctx, b))
	requireStats(webhook.QueueStats{Pending: 2, OldestCreatedAt: b1.CreatedAt, NextDueAt: at(time.Second)},
		stats(), "after enabling the subscription again")

	for _, d := range f.claim(at(time.Hour), 10) {
		f.complete(d, webhook.StateFailed, 500, time.Time{})
	}
	requireStats(webhook.QueueStats{}, stats(), "once every delivery ended")
}
