package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store {
		return openStore(t, filepath.Join(t.TempDir(), "hooks.db"))
	})
}
