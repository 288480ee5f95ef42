package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store {
		// A schema per subtest: the suite's 18 subtests would spend most of
		// their time creating databases.
		pool := pgtest.NewSchemaPool(t)
		s, err := pgstore.New(pool, nil)
		require.NoError(t, err)
		require.NoError(t, s.Migrate(t.Context()))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}
