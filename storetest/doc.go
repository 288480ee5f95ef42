// Package storetest checks that an implementation of webhook.Store keeps the
// contract the Dispatcher relies on. Every store of this module runs it, and
// so should a store written outside it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) webhook.Store {
//			return mystore.New(openTestDatabase(t))
//		})
//	}
//
// Run calls newStore once per subtest and expects an empty store each time;
// the subtests run one after another, so a store backed by one test database
// may empty it in newStore. The suite covers subscription CRUD and
// validation, matching by scope and event type, the queue (enqueue, claim
// with each delivery's subscription, lease expiry, concurrent claimers,
// complete, release, redeliver), the
// delivery log with its filters and pagination, the trace context kept
// with each delivery, and WorkNotifier and QueueStatsStore when the store
// implements them. Schedules start at the fixed BaseTime, never at the
// clock, so a failure reproduces.
//
// RunDedupe does the same for a webhook.DedupeStore, the receiver side's
// store of processed delivery ids (MemoryDedupeStore, pgstore.DedupeStore),
// including the claims a request keeps after its lease was taken over.
//
// RunEncryption checks a store that seals signing secrets with a
// keyring.Ring: round trips, key rotation with ReencryptSecrets, sealing
// of secrets kept in clear, and the errors of a missing or wrong key.
// RunSecretsAtRest takes a durable store from secrets in clear to sealed
// ones and through a key rotation, delivering verified events, and searches
// the store's raw bytes (a table dump, the database files) at each step;
// RequireNoSecrets and FindSecret do that search for a store's own tests.
//
// The helpers NewID, IDGenerator, NewSubscription and NewDelivery build test
// data with ids in the library's format, for the suite and for a store's own
// tests.
package storetest
