package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// Ending a held delivery: Complete with its attempts, and Release.

func testCompleteRecordsAttempts(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))

	// A failed attempt schedules a retry.
	held := f.claimOne(at(0), d.ID)
	a1 := f.complete(held, webhook.StatePending, 503, at(5*time.Minute))
	want := *d
	want.AttemptCount, want.NextAttemptAt, want.LastStatusCode, want.LastError = 1, at(5*time.Minute), 503, "status 503"
	requireSameDelivery(t, &want, f.get(d.ID))
	require.Empty(t, f.claim(at(5*time.Minute-time.Millisecond), 10), "claimed before its retry is due")

	// The retry succeeds.
	held = f.claimOne(at(5*time.Minute), d.ID)
	require.Equal(t, 1, held.AttemptCount)
	a2 := f.complete(held, webhook.StateSucceeded, 200, held.NextAttemptAt)
	want.State, want.AttemptCount, want.LastStatusCode, want.LastError = webhook.StateSucceeded, 2, 200, ""
	requireSameDelivery(t, &want, f.get(d.ID))
	require.Empty(t, f.claim(at(1000*time.Hour), 10), "a succeeded delivery is claimed")

	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	for i, w := range []*webhook.Attempt{a1, a2} {
		g := attempts[i]
		require.Equal(t, d.ID, g.DeliveryID)
		require.Equal(t, w.Number, g.Number, "attempts oldest first")
		requireSameTime(t, w.StartedAt, g.StartedAt, "StartedAt")
		require.Equal(t, w.Duration, g.Duration)
		require.Equal(t, w.StatusCode, g.StatusCode)
		require.Equal(t, w.ErrorClass, g.ErrorClass)
		require.Equal(t, w.Error, g.Error)
		require.Equal(t, w.ResponseSnippet, g.ResponseSnippet)
	}
	attempts[0].StatusCode = 999
	again, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, 503, again[0].StatusCode, "ListAttempts returns copies")

	t.Run("failed is final", func(t *testing.T) {
		d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
		held := f.claimOne(at(0), d.ID)
		held.State = webhook.StateFailed
		held.AttemptCount = 1
		held.LastStatusCode = 0
		held.LastError = "connection refused"
		a := &webhook.Attempt{Number: 1, StartedAt: at(0), ErrorClass: webhook.ErrorClassConnection, Error: "connection refused"}
		require.NoError(t, f.s.Complete(f.ctx, held, a))
		got := f.get(d.ID)
		require.Equal(t, webhook.StateFailed, got.State)
		require.Equal(t, "connection refused", got.LastError)
		require.Empty(t, f.claim(at(1000*time.Hour), 10))
		attempts, err := f.s.ListAttempts(f.ctx, d.ID)
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, d.ID, attempts[0].DeliveryID, "an empty Attempt.DeliveryID is set to the delivery's")
	})

	t.Run("invalid", func(t *testing.T) {
		d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
		held := f.claimOne(at(0), d.ID)
		bad := *held
		bad.State = webhook.StateDelivering
		requireValidationError(t, f.s.Complete(f.ctx, &bad, &webhook.Attempt{Number: 1}), "")
		bad.State = ""
		requireValidationError(t, f.s.Complete(f.ctx, &bad, &webhook.Attempt{Number: 1}), "")
		ok := *held
		ok.State = webhook.StateSucceeded
		requireValidationError(t, f.s.Complete(f.ctx, &ok, nil), "")
		requireValidationError(t, f.s.Complete(f.ctx, nil, &webhook.Attempt{Number: 1}), "")
		// Nothing was recorded; the holder can still complete.
		attempts, err := f.s.ListAttempts(f.ctx, d.ID)
		require.NoError(t, err)
		require.Empty(t, attempts)
		f.complete(held, webhook.StateSucceeded, 204, time.Time{})
	})

	_, err = f.s.ListAttempts(f.ctx, NewID("dlv_", BaseTime))
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func testCompleteLeaseLost(f *fixture) {
	sub := f.createSub("org_1", "", "*")
	tests := []struct {
		name string
		// holder returns a delivery the caller wrongly believes it holds.
		holder func(t *testing.T) *webhook.Delivery
		errs   []error
	}{
		{
			name: "never claimed",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(1000*time.Hour))
				d.LeaseExpiresAt = at(lease)
				return d
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "already completed",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
				held := f.claimOne(at(0), d.ID)
				stale := *held
				f.complete(held, webhook.StateSucceeded, 200, time.Time{})
				return &stale
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "other lease",
			holder: func(t *testing.T) *webhook.Delivery {
				d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
				held := f.claimOne(at(0), d.ID)
				forged := *held
				forged.LeaseExpiresAt = held.LeaseExpiresAt.Add(time.Second)
				return &forged
			},
			errs: []error{webhook.ErrLeaseLost},
		},
		{
			name: "unknown delivery",
			holder: func(t *testing.T) *webhook.Delivery {
				d := NewDelivery(f.ids, sub, webhook.EventTaskCreated, at(0))
				d.State = webhook.StateDelivering
				d.LeaseExpiresAt = at(lease)
				return d
			},
			errs: []error{webhook.ErrLeaseLost, webhook.ErrNotFound},
		},
	}
	for _, tc := range tests {
		f.t.Run(tc.name, func(t *testing.T) {
			d := tc.holder(t)
			before, beforeErr := f.s.ListAttempts(f.ctx, d.ID)
			d.State = webhook.StateFailed
			d.AttemptCount++
			err := f.s.Complete(f.ctx, d, &webhook.Attempt{Number: d.AttemptCount, StartedAt: at(0), StatusCode: 500})
			requireOneOf(t, err, tc.errs)
			requireOneOf(t, f.s.Release(f.ctx, d, at(0)), tc.errs)
			after, afterErr := f.s.ListAttempts(f.ctx, d.ID)
			require.Equal(t, beforeErr == nil, afterErr == nil)
			require.Len(t, after, len(before), "an attempt was recorded without the lease")
		})
	}
}

func requireOneOf(t *testing.T, err error, targets []error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	require.Failf(t, "unexpected error", "got %v, want one of %v", err, targets)
}

func testRelease(f *fixture) {
	t := f.t
	sub := f.createSub("org_1", "", "*")
	d := f.enqueue(sub, webhook.EventTaskCreated, at(0))
	held := f.claimOne(at(0), d.ID)

	require.NoError(t, f.s.Release(f.ctx, held, at(5*time.Minute)))
	got := f.get(d.ID)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.AttemptCount, "Release is not an attempt")
	requireSameTime(t, at(5*time.Minute), got.NextAttemptAt, "NextAttemptAt")
	attempts, err := f.s.ListAttempts(f.ctx, d.ID)
	require.NoError(t, err)
	require.Empty(t, attempts, "Release records no attempt")

	require.Empty(t, f.claim(at(5*time.Minute-time.Millisecond), 10))
	require.ErrorIs(t, f.s.Release(f.ctx, held, at(0)), webhook.ErrLeaseLost, "released twice")
	again := f.claimOne(at(5*time.Minute), d.ID)
	f.complete(again, webhook.StateSucceeded, 200, time.Time{})
	requireValidationError(t, f.s.Release(f.ctx, nil, at(0)), "")
}
