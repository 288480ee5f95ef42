package webhook

import (
	"math"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy decides when a failed delivery is tried again. The Dispatcher
// stores the answer as the delivery's NextAttemptAt: retries are scheduled in
// the Store, never slept through in a goroutine, so they survive restarts and
// can span days. Implementations must be safe for concurrent use.
type RetryPolicy interface {
	// NextAttempt returns when attempt number attempt+1 is due after
	// attempt number attempt (1-based) failed at now, for a delivery first
	// attempted at first. ok is false when the retry window is spent and the
	// delivery is to be marked failed.
	NextAttempt(attempt int, first, now time.Time) (next time.Time, ok bool)
}

// Defaults of ExponentialRetry. With them the retries come after about 5 s,
// 25 s, 2 min, 10 min, 52 min, 4.3 h and then every 10 h, each ±20 %, until
// three days have passed since the first attempt: 12 to 15 attempts in all
// (13 without jitter).
// The shape follows Svix's schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, …)
// and the window Stripe's (3 days), so that an endpoint down over a weekend
// still receives its events.
const (
	DefaultRetryInitialInterval     = 5 * time.Second
	DefaultRetryMultiplier          = 5.0
	DefaultRetryMaxInterval         = 10 * time.Hour
	DefaultRetryRandomizationFactor = 0.2
	DefaultRetryWindow              = 72 * time.Hour
)

// ExponentialRetry retries with exponentially growing, jittered delays until
// a retry window measured from the first attempt is spent. The n-th retry
// waits
//
//	min(InitialInterval × Multiplier^(n-1), MaxInterval) × (1 ± RandomizationFactor)
//
// drawn uniformly by cenkalti/backoff/v4's ExponentialBackOff; the jitter
// spreads the retries of many deliveries that failed together (an endpoint
// coming back from an outage is not hit by all of them at once). A retry that
// would fall after first+MaxElapsed is not scheduled.
//
// The zero value is the default policy; each zero field takes its default.
// NextAttempt is a pure function of its arguments and fresh randomness: it
// keeps no state, so one value is safe for concurrent use by any number of
// workers and processes. NextAttempt uses the default in place of any field
// outside its valid range; Validate reports such fields.
type ExponentialRetry struct {
	// InitialInterval is the delay before the first retry, before jitter.
	// Defaults to DefaultRetryInitialInterval.
	InitialInterval time.Duration
	// MaxInterval caps the delay between two attempts, before jitter.
	// Defaults to DefaultRetryMaxInterval.
	MaxInterval time.Duration
	// Multiplier is the growth of the delay from one retry to the next; at
	// least 1. Defaults to DefaultRetryMultiplier.
	Multiplier float64
	// RandomizationFactor is the jitter: each delay is drawn uniformly from
	// delay × [1-RandomizationFactor, 1+RandomizationFactor]. Less than 1.
	// A negative value turns jitter off (delays are then exact, which suits
	// tests). Defaults to DefaultRetryRandomizationFactor.
	RandomizationFactor float64
	// MaxElapsed is the retry window: no attempt is scheduled later than
	// MaxElapsed after the first attempt. Defaults to DefaultRetryWindow.
	MaxElapsed time.Duration
}

var _ RetryPolicy = ExponentialRetry{}

// NextAttempt implements RetryPolicy. An attempt below 1 counts as 1.
func (r ExponentialRetry) NextAttempt(attempt int, first, now time.Time) (time.Time, bool) {
	r = r.withDefaults()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     r.interval(attempt),
		RandomizationFactor: r.RandomizationFactor,
		Multiplier:          r.Multiplier,
		MaxInterval:         r.MaxInterval,
		// The window is checked against first below: backoff measures
		// elapsed time from its own creation, which is not when the
		// delivery was first attempted.
		MaxElapsedTime: 0,
		Stop:           backoff.Stop,
		Clock:          backoff.SystemClock,
	}
	b.Reset()
	delay := b.NextBackOff()
	next := now.Add(delay)
	// delay < 0 only when an absurd MaxInterval overflowed in the jitter.
	if delay < 0 || next.After(first.Add(r.MaxElapsed)) {
		return time.Time{}, false
	}
	return next, true
}

// interval returns the delay before retry number attempt (the retry that
// follows attempt number attempt) without jitter: InitialInterval ×
// Multiplier^(attempt-1), capped at MaxInterval. Zero fields take their
// defaults.
func (r ExponentialRetry) interval(attempt int) time.Duration {
	r = r.withDefaults()
	if attempt < 1 {
		attempt = 1
	}
	d := float64(r.InitialInterval) * math.Pow(r.Multiplier, float64(attempt-1))
	if d >= float64(r.MaxInterval) || math.IsInf(d, 0) || math.IsNaN(d) {
		return r.MaxInterval
	}
	return time.Duration(d)
}

// Validate reports the first field outside its valid range as a
// *ValidationError. Zero fields are valid: they take their defaults.
// NewDispatcher calls it (on any RetryPolicy with a Validate method) and
// refuses an invalid policy, naming the field as "RetryPolicy.<field>".
func (r ExponentialRetry) Validate() error {
	switch {
	case r.InitialInterval < 0:
		return &ValidationError{Field: "InitialInterval", Reason: "must not be negative"}
	case r.MaxInterval < 0:
		return &ValidationError{Field: "MaxInterval", Reason: "must not be negative"}
	case r.MaxElapsed < 0:
		return &ValidationError{Field: "MaxElapsed", Reason: "must not be negative"}
	case r.Multiplier != 0 && !(r.Multiplier >= 1) || math.IsInf(r.Multiplier, 0):
		return &ValidationError{Field: "Multiplier", Reason: "must be at least 1, got " + strconv.FormatFloat(r.Multiplier, 'g', -1, 64)}
	case r.RandomizationFactor >= 1 || math.IsNaN(r.RandomizationFactor):
		return &ValidationError{Field: "RandomizationFactor", Reason: "must be less than 1, got " + strconv.FormatFloat(r.RandomizationFactor, 'g', -1, 64)}
	}
	initial, maxInterval := r.InitialInterval, r.MaxInterval
	if initial == 0 {
		initial = DefaultRetryInitialInterval
	}
	if maxInterval == 0 {
		maxInterval = DefaultRetryMaxInterval
	}
	if maxInterval < initial {
		return &ValidationError{Field: "MaxInterval", Reason: "must not be less than InitialInterval"}
	}
	return nil
}

// withDefaults returns r with each zero or invalid field replaced by its
// default, so NextAttempt never panics or loops whatever r holds.
func (r ExponentialRetry) withDefaults() ExponentialRetry {
	if r.InitialInterval <= 0 {
		r.InitialInterval = DefaultRetryInitialInterval
	}
	if r.MaxInterval <= 0 {
		r.MaxInterval = DefaultRetryMaxInterval
	}
	if r.MaxInterval < r.InitialInterval {
		r.MaxInterval = r.InitialInterval
	}
	if !(r.Multiplier >= 1) || math.IsInf(r.Multiplier, 0) { // zero, < 1, NaN
		r.Multiplier = DefaultRetryMultiplier
	}
	switch {
	case r.RandomizationFactor < 0:
		r.RandomizationFactor = 0
	case r.RandomizationFactor == 0 || !(r.RandomizationFactor < 1): // also NaN
		r.RandomizationFactor = DefaultRetryRandomizationFactor
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = DefaultRetryWindow
	}
	return r
}
