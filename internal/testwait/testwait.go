// Package testwait waits in tests for what they expect to happen, failing
// the test after a timeout that suits a loaded CI machine, so that tests
// need neither inline selects on time.After nor sleeps.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long Recv waits: long enough for a loaded two-core
// machine running the race detector, short enough to fail a stuck test
// well before go test's own deadline.
const Timeout = 10 * time.Second

// Recv receives a value from ch and returns it, or fails tb with the
// message failure (what went wrong, such as "no attempt started") if none
// comes within Timeout.
func Recv[T any](tb testing.TB, ch <-chan T, failure string) T {
	tb.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		tb.Fatalf("%s (waited %v)", failure, Timeout)
		panic("unreachable") // Fatalf does not return
	}
}
