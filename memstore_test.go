package webhook_test

import (
	"testing"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store { return webhook.NewMemoryStore() })
}
