package webhook

import "time"

// STUB (skeleton): the dispatcher helper implements the default policy.

// RetryPolicy decides when a failed delivery is tried again.
type RetryPolicy interface {
	// NextAttempt returns when attempt number attempt+1 is due after
	// attempt number attempt (1-based) failed at now, for a delivery first
	// attempted at first. ok is false when the retry window is spent and the
	// delivery is to be marked failed.
	NextAttempt(attempt int, first, now time.Time) (next time.Time, ok bool)
}
