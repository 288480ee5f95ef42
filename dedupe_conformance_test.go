package webhook_test

import (
	"testing"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

func TestMemoryDedupeStoreConformance(t *testing.T) {
	storetest.RunDedupe(t, func(t *testing.T) webhook.DedupeStore {
		return webhook.NewMemoryDedupeStore(0)
	})
}
