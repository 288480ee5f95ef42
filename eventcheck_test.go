package webhook

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckPublishedReadsJSON checks that the catalog checks Publish makes
// itself read Data as a JSON parser does: names with escapes, whitespace
// anywhere, members in any order, and invalid JSON refused rather than
// guessed at.
func TestCheckPublishedReadsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		typ   EventType
		data  string
		field string // "" means accepted
	}{
		{"escaped names", EventTaskUpdated, `{"t\u0061sk":{"\u0069d":"t1"},"d\u0069ff":{"title":{"before":"a","after":"b"}}}`, ""},
		{"whitespace", EventTaskUpdated, " {\n\t\"diff\" : { \"x\" : 1 } ,\r\n\"task\" : { \"title\":\"x\" , \"id\" : \"t\" } } ", ""},
		{"resource after other members", EventCommentCreated, `{"actor":{"id":"u"},"comment":{"body":"hi","id":"c1"}}`, ""},
		{"nested resource name does not count", EventTaskCreated, `{"actor":{"task":{"id":"t1"}}}`, "Data.task"},
		{"nested id does not count", EventTaskCreated, `{"task":{"parent":{"id":"t0"}}}`, "Data.task.id"},
		{"id null", EventTaskCreated, `{"task":{"id":null}}`, "Data.task.id"},
		{"resource an array", EventTaskCreated, `{"task":[{"id":"t1"}]}`, "Data.task"},
		{"resource a string", EventTaskCreated, `{"task":"t1"}`, "Data.task"},
		{"diff null", EventTaskUpdated, `{"task":{"id":"t1"},"diff":null}`, "Data.diff"},
		{"diff repeated", EventTaskUpdated, `{"task":{"id":"t1"},"diff":{"a":1},"diff":{"b":1}}`, "Data.diff"},
		{"truncated", EventTaskCreated, `{"task":{"id":"t1"}`, "Data"},
		{"missing colon", EventTaskCreated, `{"task" {"id":"t1"}}`, "Data"},
		{"trailing comma", EventTaskCreated, `{"task":{"id":"t1"},}`, "Data"},
		{"bad escape in a name", EventTaskCreated, `{"ta\qsk":{"id":"t1"}}`, "Data"},
		{"not an object", EventTaskCreated, `["task"]`, "Data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := Event{Type: tt.typ, OrganizationID: "org_1", ProjectID: "proj_1", Data: []byte(tt.data)}
			err := checkPublished(&e)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, ve.Error())
		})
	}
}

// BenchmarkCheckPublished measures the catalog checks Publish makes itself
// on every event (checkPublished), on the golden task.updated sample.
func BenchmarkCheckPublished(b *testing.B) {
	body, err := os.ReadFile("testdata/events/task.updated.json")
	require.NoError(b, err)
	e, err := ParseEvent(body)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if err := checkPublished(e); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckPublishedDoesNotAllocate(t *testing.T) {
	if signRaceEnabled {
		t.Skip("the race detector allocates")
	}
	body, err := os.ReadFile("testdata/events/task.updated.json")
	require.NoError(t, err)
	e, err := ParseEvent(body)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if err := checkPublished(e); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}
