package webhook_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

var retryBase = time.Date(2026, time.June, 27, 9, 0, 0, 0, time.UTC)

// schedule follows policy from a first attempt at retryBase, every attempt
// failing the moment it is made, and returns the delays between attempts.
func schedule(t *testing.T, policy webhook.RetryPolicy) []time.Duration {
	t.Helper()
	var delays []time.Duration
	now := retryBase
	for attempt := 1; ; attempt++ {
		require.Less(t, attempt, 1000, "the schedule never ends")
		next, ok := policy.NextAttempt(attempt, retryBase, now)
		if !ok {
			require.True(t, next.IsZero(), "a refusal carries no time")
			return delays
		}
		delays = append(delays, next.Sub(now))
		now = next
	}
}

func TestExponentialRetryScheduleWithoutJitter(t *testing.T) {
	t.Parallel()
	got := schedule(t, webhook.ExponentialRetry{RandomizationFactor: -1})
	want := []time.Duration{
		5 * time.Second, 25 * time.Second, 125 * time.Second, 625 * time.Second,
		3125 * time.Second, 15625 * time.Second, // 4h20m25s
		10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
	require.Equal(t, want, got)
	var total time.Duration
	for _, d := range got {
		total += d
	}
	require.LessOrEqual(t, total, webhook.DefaultRetryWindow)
	require.Greater(t, total+10*time.Hour, webhook.DefaultRetryWindow, "one more retry would fit in the window")
}

func TestExponentialRetryJitterBounds(t *testing.T) {
	t.Parallel()
	var policy webhook.RetryPolicy = webhook.ExponentialRetry{}
	var e webhook.ExponentialRetry
	prevLow := time.Duration(0)
	for attempt := 1; attempt <= 12; attempt++ {
		base := webhook.RetryInterval(e, attempt)
		low := time.Duration(float64(base) * (1 - webhook.DefaultRetryRandomizationFactor))
		high := time.Duration(float64(base)*(1+webhook.DefaultRetryRandomizationFactor)) + time.Nanosecond
		require.GreaterOrEqual(t, low, prevLow, "attempt %d: the schedule shrinks", attempt)
		prevLow = low

		now := retryBase.Add(time.Minute) // well inside the window for every delay here
		seen := make(map[time.Duration]bool)
		for range 500 {
			next, ok := policy.NextAttempt(attempt, retryBase, now)
			require.True(t, ok)
			d := next.Sub(now)
			require.GreaterOrEqual(t, d, low, "attempt %d", attempt)
			require.LessOrEqual(t, d, high, "attempt %d", attempt)
			seen[d] = true
		}
		require.Greater(t, len(seen), 100, "attempt %d: no jitter", attempt)
	}
}

func TestExponentialRetryWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  webhook.ExponentialRetry
		attempt int
		now     time.Duration // since the first attempt
		ok      bool
	}{
		{"early retry", webhook.ExponentialRetry{}, 1, 0, true},
		{"last retry that fits", webhook.ExponentialRetry{RandomizationFactor: -1}, 12, 62 * time.Hour, true},
		{"retry past the window", webhook.ExponentialRetry{RandomizationFactor: -1}, 12, 62*time.Hour + time.Second, false},
		{"even the largest jitter fits", webhook.ExponentialRetry{}, 12, 59 * time.Hour, true},
		{"even the smallest jitter does not fit", webhook.ExponentialRetry{}, 12, 64*time.Hour + time.Second, false},
		{"window already spent", webhook.ExponentialRetry{}, 2, 73 * time.Hour, false},
		{"custom window", webhook.ExponentialRetry{MaxElapsed: time.Minute, RandomizationFactor: -1}, 2, 30 * time.Second, true},
		{"custom window spent", webhook.ExponentialRetry{MaxElapsed: time.Minute, RandomizationFactor: -1}, 2, 36 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for range 100 { // the outcome must not depend on the jitter drawn
				next, ok := tc.policy.NextAttempt(tc.attempt, retryBase, retryBase.Add(tc.now))
				require.Equal(t, tc.ok, ok)
				if ok {
					require.False(t, next.After(retryBase.Add(cmpOr(tc.policy.MaxElapsed, webhook.DefaultRetryWindow))))
				}
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func TestExponentialRetryIsPure(t *testing.T) {
	t.Parallel()
	policy := webhook.ExponentialRetry{RandomizationFactor: -1, InitialInterval: time.Minute, Multiplier: 2, MaxInterval: time.Hour, MaxElapsed: 24 * time.Hour}
	for _, first := range []time.Time{retryBase, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 12, 31, 23, 0, 0, 0, time.FixedZone("x", 3600))} {
		for attempt := 1; attempt <= 8; attempt++ {
			now := first.Add(time.Duration(attempt) * time.Minute)
			a, okA := policy.NextAttempt(attempt, first, now)
			b, okB := policy.NextAttempt(attempt, first, now)
			require.True(t, okA)
			require.Equal(t, okA, okB)
			require.True(t, a.Equal(b))
			require.Equal(t, min(time.Minute<<(attempt-1), time.Hour), a.Sub(now), "attempt %d", attempt)
		}
	}
}

func TestExponentialRetryInterval(t *testing.T) {
	t.Parallel()
	var e webhook.ExponentialRetry
	require.Equal(t, 5*time.Second, webhook.RetryInterval(e, 0), "attempts below 1 count as 1")
	require.Equal(t, 5*time.Second, webhook.RetryInterval(e, -7))
	require.Equal(t, 5*time.Second, webhook.RetryInterval(e, 1))
	require.Equal(t, 25*time.Second, webhook.RetryInterval(e, 2))
	require.Equal(t, 10*time.Hour, webhook.RetryInterval(e, 7))
	require.Equal(t, 10*time.Hour, webhook.RetryInterval(e, math.MaxInt), "huge attempt numbers stay capped")
}

func TestExponentialRetryValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy webhook.ExponentialRetry
		field  string // empty when valid
	}{
		{"zero value", webhook.ExponentialRetry{}, ""},
		{"no jitter", webhook.ExponentialRetry{RandomizationFactor: -1}, ""},
		{"explicit", webhook.ExponentialRetry{InitialInterval: time.Second, MaxInterval: time.Minute, Multiplier: 1, RandomizationFactor: 0.5, MaxElapsed: time.Hour}, ""},
		{"negative initial", webhook.ExponentialRetry{InitialInterval: -1}, "InitialInterval"},
		{"negative max", webhook.ExponentialRetry{MaxInterval: -1}, "MaxInterval"},
		{"max below initial", webhook.ExponentialRetry{InitialInterval: time.Hour, MaxInterval: time.Minute}, "MaxInterval"},
		{"max below default initial", webhook.ExponentialRetry{MaxInterval: time.Second}, "MaxInterval"},
		{"negative window", webhook.ExponentialRetry{MaxElapsed: -time.Hour}, "MaxElapsed"},
		{"shrinking", webhook.ExponentialRetry{Multiplier: 0.5}, "Multiplier"},
		{"NaN multiplier", webhook.ExponentialRetry{Multiplier: math.NaN()}, "Multiplier"},
		{"infinite multiplier", webhook.ExponentialRetry{Multiplier: math.Inf(1)}, "Multiplier"},
		{"jitter of 100 %", webhook.ExponentialRetry{RandomizationFactor: 1}, "RandomizationFactor"},
		{"NaN jitter", webhook.ExponentialRetry{RandomizationFactor: math.NaN()}, "RandomizationFactor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field)

			// NextAttempt still answers, within the default policy's bounds
			// for the fields it replaced.
			next, ok := tc.policy.NextAttempt(1, retryBase, retryBase)
			if ok {
				require.False(t, next.Before(retryBase))
			}
		})
	}
}

func TestExponentialRetryInvalidFieldsUseDefaults(t *testing.T) {
	t.Parallel()
	bad := webhook.ExponentialRetry{Multiplier: math.NaN(), RandomizationFactor: 7, InitialInterval: -time.Second, MaxElapsed: -1}
	for attempt := 1; attempt <= 3; attempt++ {
		next, ok := bad.NextAttempt(attempt, retryBase, retryBase)
		require.True(t, ok)
		d := next.Sub(retryBase)
		base := webhook.RetryInterval(webhook.ExponentialRetry{}, attempt)
		require.GreaterOrEqual(t, d, time.Duration(float64(base)*0.8))
		require.LessOrEqual(t, d, time.Duration(float64(base)*1.2)+time.Nanosecond)
	}
	// An absurd interval cannot overflow into the past.
	huge := webhook.ExponentialRetry{InitialInterval: math.MaxInt64 / 2, MaxInterval: math.MaxInt64, MaxElapsed: math.MaxInt64}
	next, ok := huge.NextAttempt(3, retryBase, retryBase)
	if ok {
		require.True(t, next.After(retryBase))
	}
}

// ExampleExponentialRetry prints the default schedule without its ±20 %
// jitter: the delay before each retry and the time since the first attempt.
func ExampleExponentialRetry() {
	policy := webhook.ExponentialRetry{RandomizationFactor: -1} // defaults, no jitter
	first := time.Date(2026, time.June, 27, 9, 0, 0, 0, time.UTC)
	now := first
	for attempt := 1; ; attempt++ {
		next, ok := policy.NextAttempt(attempt, first, now)
		if !ok {
			fmt.Printf("attempt %d failed: delivery marked failed\n", attempt)
			break
		}
		fmt.Printf("attempt %d failed: retry in %v (at +%v)\n", attempt, next.Sub(now), next.Sub(first))
		now = next
	}
	// Output:
	// attempt 1 failed: retry in 5s (at +5s)
	// attempt 2 failed: retry in 25s (at +30s)
	// attempt 3 failed: retry in 2m5s (at +2m35s)
	// attempt 4 failed: retry in 10m25s (at +13m0s)
	// attempt 5 failed: retry in 52m5s (at +1h5m5s)
	// attempt 6 failed: retry in 4h20m25s (at +5h25m30s)
	// attempt 7 failed: retry in 10h0m0s (at +15h25m30s)
	// attempt 8 failed: retry in 10h0m0s (at +25h25m30s)
	// attempt 9 failed: retry in 10h0m0s (at +35h25m30s)
	// attempt 10 failed: retry in 10h0m0s (at +45h25m30s)
	// attempt 11 failed: retry in 10h0m0s (at +55h25m30s)
	// attempt 12 failed: retry in 10h0m0s (at +65h25m30s)
	// attempt 13 failed: delivery marked failed
}
