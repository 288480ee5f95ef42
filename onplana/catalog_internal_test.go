package onplana

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// TestCatalogEntries checks the table of the catalog against the EventType
// methods: each type is known once, and only a type with a diff requires
// diff fields, which are fields of its resource.
func TestCatalogEntries(t *testing.T) {
	t.Parallel()
	seen := map[webhook.EventType]bool{}
	for _, e := range entries {
		typ := e.typ
		require.False(t, seen[typ], "%s listed twice", typ)
		seen[typ] = true
		require.True(t, typ.Known(), "%s is not a known type", typ)
		require.NotEmpty(t, e.description, typ)
		name, schema := resourceSchema(typ.Category())
		require.NotEmpty(t, name, "%s has no resource", typ)
		require.NotNil(t, schema)
		if len(e.diffMust) > 0 {
			require.True(t, typ.HasDiff(), "%s requires diff fields but no diff", typ)
			fields := schema.get("properties").(jsonObject).keys()
			for _, f := range e.diffMust {
				require.True(t, slices.Contains(fields, f), "%s: diff field %q is not a %s field", typ, f, name)
			}
		}
	}
}

// TestSampleIDShape checks that the fixed sample ids look like the ids the
// library generates at the same time.
func TestSampleIDShape(t *testing.T) {
	t.Parallel()
	e, err := webhook.NewEvent(webhook.EventTaskCreated, "org_1", "proj_1", TaskEventData{Task: Task{ID: "task_1"}})
	require.NoError(t, err)
	ds, err := webhook.NewDeliveries(e, []string{"sub_1"}, sampleTime, 0)
	require.NoError(t, err)
	gen := ds[0].ID

	id := sampleID("dlv_", "x")
	require.Len(t, id, len(gen))
	require.Equal(t, gen[:len("dlv_")+10], id[:len("dlv_")+10], "same time prefix")
	require.NotEqual(t, id, sampleID("dlv_", "y"))
	require.Equal(t, id, sampleID("dlv_", "x"), "deterministic")
}
