package webhook

import "errors"

// Permanent wraps err, returned by an EventHandler, to say that handling
// the event again cannot succeed: it names something the host has
// deleted, say, or carries data the host refuses. Retrying such an event
// would only repeat the failure for the sender's whole retry window (days
// with this library's Dispatcher), so the Receiver acknowledges it
// instead:
//
//   - Receiver.ServeEvents (and Handler) logs err as a warning and answers
//     200 with a body saying the event was not processed (err itself is
//     never sent: it may describe the host's internals), so the sender
//     records one successful attempt and stops;
//   - behind Idempotency, the delivery is marked done like a success, so a
//     redelivery is answered "already processed" without calling the
//     handler again;
//   - an AsyncHandler reports err to AsyncConfig.OnError (where the host
//     keeps the event for its own dead-letter queue) and marks the
//     delivery done.
//
// A panic is never permanent. Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// PermanentError is the error Permanent returns; errors.As finds it
// through any further wrapping.
type PermanentError struct {
	Err error
}

// Error returns the wrapped error's message, marked permanent.
func (e *PermanentError) Error() string { return "webhook: permanent: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// isPermanent reports whether err is, or wraps, a *PermanentError.
func isPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
