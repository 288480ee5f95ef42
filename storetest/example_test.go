package storetest_test

import (
	"testing"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

// A Store implementation is checked against the contract the Dispatcher
// relies on with one call in its tests; every subtest gets a fresh, empty
// store from the function given.
func ExampleRun() {
	// In a _test.go file of the store's package:
	_ = func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) webhook.Store {
			return webhook.NewMemoryStore() // the store under test, fresh and empty
		})
	}
}
