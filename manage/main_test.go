package manage

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: the
// dispatchers and servers the tests start must all be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
