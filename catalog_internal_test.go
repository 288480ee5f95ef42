package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCatalogTablesAgree checks that the ordered list of types and the table
// of their specs name the same types, so that Known and Catalog agree.
func TestCatalogTablesAgree(t *testing.T) {
	t.Parallel()
	require.Len(t, eventSpecs, len(eventTypes))
	seen := map[EventType]bool{}
	for _, typ := range eventTypes {
		require.False(t, seen[typ], "%s listed twice", typ)
		seen[typ] = true
		spec, ok := eventSpecs[typ]
		require.True(t, ok, "%s has no spec", typ)
		if len(spec.diffMust) > 0 {
			require.True(t, spec.diff, "%s requires diff fields but no diff", typ)
		}
		name, schema := resourceSchema(typ.Category())
		require.NotEmpty(t, name, "%s has no resource", typ)
		require.NotNil(t, schema)
	}
}

// TestSampleIDShape checks the fixed sample ids look like generated ones.
func TestSampleIDShape(t *testing.T) {
	t.Parallel()
	id := sampleID(prefixDelivery, "x")
	gen := newID(prefixDelivery, sampleTime)
	require.Len(t, id, len(gen))
	require.Equal(t, gen[:len(prefixDelivery)+10], id[:len(prefixDelivery)+10], "same time prefix")
	require.NotEqual(t, id, sampleID(prefixDelivery, "y"))
	require.Equal(t, id, sampleID(prefixDelivery, "x"), "deterministic")
}
