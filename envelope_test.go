package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

const validEnvelope = `{"delivery_id":"dlv_1","event_id":"evt_1","event":"task.updated",` +
	`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"proj_xyz789",` +
	`"data":{"task":{"id":"task_1","title":"Ship"},"diff":{"title":{"before":"a","after":"b"}}}}`

func TestParseEventValid(t *testing.T) {
	t.Parallel()
	e, err := webhook.ParseEvent([]byte(validEnvelope))
	require.NoError(t, err)
	require.Equal(t, "dlv_1", e.DeliveryID)
	require.Equal(t, "evt_1", e.ID)
	require.Equal(t, webhook.EventTaskUpdated, e.Type)
	require.Equal(t, time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC), e.Timestamp.UTC())
	require.Equal(t, "org_abc123", e.OrganizationID)
	require.Equal(t, "proj_xyz789", e.ProjectID)
	require.JSONEq(t, `{"task":{"id":"task_1","title":"Ship"},"diff":{"title":{"before":"a","after":"b"}}}`, string(e.Data))
	// data is kept raw: the exact bytes of the object, not re-encoded.
	require.True(t, strings.Contains(validEnvelope, string(e.Data)))
}

func TestParseEventGoldenPayloads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no golden payloads in testdata/events yet")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			got, err := webhook.ParseEvent(body)
			require.NoError(t, err)

			var want webhook.Event
			require.NoError(t, json.Unmarshal(body, &want))
			require.Equal(t, want.DeliveryID, got.DeliveryID)
			require.Equal(t, want.ID, got.ID)
			require.Equal(t, want.Type, got.Type)
			require.True(t, want.Timestamp.Equal(got.Timestamp))
			require.Equal(t, want.OrganizationID, got.OrganizationID)
			require.Equal(t, want.ProjectID, got.ProjectID)
			require.Equal(t, string(want.Data), string(got.Data))
			require.Equal(t, strings.TrimSuffix(filepath.Base(f), ".json"), string(got.Type))
		})
	}
}

func TestParseEventAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, e *webhook.Event)
	}{
		{
			name:  "whitespace everywhere",
			body:  " \n{ \"delivery_id\" : \"dlv_1\" ,\t\"event_id\":\"evt_1\",\r\n\"event\":\"task.created\",\"timestamp\":\"2026-06-27T09:15:23Z\",\"organization_id\":\"org_1\",\"data\" : { } } \n",
			check: func(t *testing.T, e *webhook.Event) { require.Equal(t, "{ }", string(e.Data)) },
		},
		{
			name: "fields in any order, unknown fields skipped",
			body: `{"data":{"a":[1,-2.5e3,true,false,null,"x"]},"extra":{"deep":[[[]]]},"organization_id":"org_1","timestamp":"2026-06-27T09:15:23.123456Z","event":"task.created","event_id":"evt_1","delivery_id":"dlv_1","v":-0.1E+2}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, 123456000, e.Timestamp.Nanosecond())
				require.Equal(t, `{"a":[1,-2.5e3,true,false,null,"x"]}`, string(e.Data))
			},
		},
		{
			name: "escaped strings decoded",
			body: `{"delivery_id":"dlv_\u0031","event_id":"evt_1","event":"task.created","timestamp":"2026-06-27T09:15:23+02:00","organization_id":"org_\"q\"","data":{"s":"\ud83d\ude00\n"}}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, "dlv_1", e.DeliveryID)
				require.Equal(t, `org_"q"`, e.OrganizationID)
				require.Equal(t, 7*3600+15*60+23, e.Timestamp.UTC().Hour()*3600+e.Timestamp.UTC().Minute()*60+e.Timestamp.UTC().Second())
			},
		},
		{
			name:  "project_id null means organization level",
			body:  `{"delivery_id":"d","event_id":"e","event":"member.invited","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","project_id":null,"data":{}}`,
			check: func(t *testing.T, e *webhook.Event) { require.Empty(t, e.ProjectID) },
		},
		{
			name: "nesting at the limit of encoding/json",
			body: `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{},"x":` +
				strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
			check: func(t *testing.T, e *webhook.Event) { require.Equal(t, "{}", string(e.Data)) },
		},
		{
			name: "plain and escaped ids side by side keep their own values",
			body: `{"project_id":"proj_1","delivery_id":"dlv_\u00e9","event_id":"evt_1","event":"task.\u0063reated","timestamp":"2026-06-27T09:15:23Z","organization_id":"org_1","data":{}}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, "dlv_é", e.DeliveryID)
				require.Equal(t, "evt_1", e.ID)
				require.Equal(t, webhook.EventTaskCreated, e.Type)
				require.Equal(t, "org_1", e.OrganizationID)
				require.Equal(t, "proj_1", e.ProjectID)
			},
		},
		{
			name: "invalid UTF-8 replaced as encoding/json replaces it",
			body: "{\"delivery_id\":\"dlv_\xff\",\"event_id\":\"evt_1\",\"event\":\"task.created\",\"timestamp\":\"2026-06-27T09:15:23Z\",\"organization_id\":\"org_\xc3\",\"data\":{}}",
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, "dlv_\ufffd", e.DeliveryID)
				require.Equal(t, "org_\ufffd", e.OrganizationID)
				require.Equal(t, "evt_1", e.ID)
			},
		},
		{
			name: "project_id left out, fields after it in order",
			body: `{"delivery_id":"d","event_id":"e","event":"member.invited","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{"x":1},"extra":"z"}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Empty(t, e.ProjectID)
				require.Equal(t, `{"x":1}`, string(e.Data))
			},
		},
		{
			name: "names that start like the expected ones",
			body: `{"delivery_idx":"no","delivery_id":"d","event_id_":"no","event_id":"e","eventx":"no","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, "d", e.DeliveryID)
				require.Equal(t, "e", e.ID)
				require.Equal(t, webhook.EventType("x"), e.Type)
			},
		},
		{
			name: "space between an expected name and its colon",
			body: `{"delivery_id" :"d","event_id"` + "\n" + `:"e","event"	:"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`,
			check: func(t *testing.T, e *webhook.Event) {
				require.Equal(t, "d", e.DeliveryID)
				require.Equal(t, "e", e.ID)
			},
		},
		{
			name:  "unknown event type accepted for forward compatibility",
			body:  `{"delivery_id":"d","event_id":"e","event":"sprint.started","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`,
			check: func(t *testing.T, e *webhook.Event) { require.Equal(t, webhook.EventType("sprint.started"), e.Type) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := webhook.ParseEvent([]byte(tt.body))
			require.NoError(t, err)
			tt.check(t, e)
			var want webhook.Event
			require.NoError(t, json.Unmarshal([]byte(tt.body), &want), "encoding/json reads the same envelope")
			require.Equal(t, want.DeliveryID, e.DeliveryID)
			require.Equal(t, want.ID, e.ID)
			require.Equal(t, want.Type, e.Type)
			require.Equal(t, want.OrganizationID, e.OrganizationID)
			require.Equal(t, want.ProjectID, e.ProjectID)
		})
	}
}

func TestParseEventRejects(t *testing.T) {
	t.Parallel()
	const tail = `"event_id":"e","event":"task.created","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`
	tests := []struct {
		name string
		body string
	}{
		{"empty", ``},
		{"not an object", `[1,2]`},
		{"null", `null`},
		{"truncated", validEnvelope[:len(validEnvelope)-1]},
		{"trailing garbage", validEnvelope + `x`},
		{"two objects", validEnvelope + validEnvelope},
		{"missing delivery_id", `{` + tail},
		{"empty delivery_id", `{"delivery_id":"",` + tail},
		{"delivery_id not a string", `{"delivery_id":7,` + tail},
		{"delivery_id null", `{"delivery_id":null,` + tail},
		{"repeated delivery_id", `{"delivery_id":"a","delivery_id":"b",` + tail},
		{"missing event_id", `{"delivery_id":"d","event":"task.created","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`},
		{"missing event", `{"delivery_id":"d","event_id":"e","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`},
		{"missing timestamp", `{"delivery_id":"d","event_id":"e","event":"x","organization_id":"o","data":{}}`},
		{"bad timestamp", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"yesterday","organization_id":"o","data":{}}`},
		{"missing organization_id", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","data":{}}`},
		{"missing data", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o"}`},
		{"data not an object", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":[1]}`},
		{"data null", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":null}`},
		{"invalid JSON inside data", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{"a":01}}`},
		{"unterminated string in data", `{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{"a":"}}`},
		{"bad escape", `{"delivery_id":"d\x","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{}}`},
		{"control character in string", "{\"delivery_id\":\"d\x01\"," + tail},
		{"case-insensitive field name is not the field", `{"Delivery_ID":"d",` + tail},
		{"nesting too deep", `{"delivery_id":"d",` + strings.TrimSuffix(tail, `}`) + `,"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := webhook.ParseEvent([]byte(tt.body))
			require.ErrorIs(t, err, webhook.ErrInvalidEnvelope)
			require.Nil(t, e)
		})
	}
}

// TestParseEventAllocations: an envelope whose ids hold no escape costs two
// allocations, the Event and one string shared by its ids, whatever its
// size; a type of the catalog is not copied.
func TestParseEventAllocations(t *testing.T) {
	for _, body := range []string{validEnvelope, `{"delivery_id":"d","event_id":"e","event":"sprint.started","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{"x":[` + strings.Repeat(`"padding",`, 1000) + `1]}}`} {
		b := []byte(body)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := webhook.ParseEvent(b); err != nil {
				panic(err)
			}
		})
		require.LessOrEqual(t, allocs, 2.0, body[:40])
	}
}
