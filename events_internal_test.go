package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventTablesAgree checks that the ordered list of types and the table
// of their specs name the same types, so that Known and the list agree.
func TestEventTablesAgree(t *testing.T) {
	t.Parallel()
	require.Len(t, eventSpecs, len(eventTypes))
	seen := map[EventType]bool{}
	for _, typ := range eventTypes {
		require.False(t, seen[typ], "%s listed twice", typ)
		seen[typ] = true
		_, ok := eventSpecs[typ]
		require.True(t, ok, "%s has no spec", typ)
	}
}
