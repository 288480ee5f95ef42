package onplana_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

var updateEvents = flag.Bool("update-events", false,
	"rewrite ../testdata/events/*.json and ../testdata/schemas/*.json from the catalog")

// testdata is the module's testdata directory, which holds the golden
// files: the root package's tests of ParseEvent and of the Node.js receiver
// read the sample envelopes too, and readers outside Go find the schemas
// beside the signature vectors.
var testdata = filepath.Join("..", "testdata")

// allTypes is the catalog of DESIGN.md, in the order of the constants.
var allTypes = []webhook.EventType{
	"project.created", "project.updated", "project.archived", "project.deleted", "project.status_changed",
	"task.created", "task.updated", "task.completed", "task.deleted", "task.assigned", "task.unassigned",
	"milestone.created", "milestone.updated", "milestone.completed",
	"comment.created",
	"member.invited", "member.activated", "member.deactivated", "member.role_changed",
	"webhook.ping",
}

var updateTypes = []webhook.EventType{
	"project.updated", "project.status_changed", "task.updated", "milestone.updated", "member.role_changed",
}

func goldenPath(t webhook.EventType) string {
	return filepath.Join(testdata, "events", string(t)+".json")
}

func readGolden(t *testing.T, typ webhook.EventType) []byte {
	t.Helper()
	b, err := os.ReadFile(goldenPath(typ))
	require.NoError(t, err, "run go test -run TestCatalogGoldenFiles -update-events to create it")
	return b
}

// compileSchema compiles the schema of info with format assertions on, so
// that date-time, date, email and uri are checked, not just annotated.
func compileSchema(t *testing.T, info onplana.EventInfo) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(info.Schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "https://schemas.example.test/" + string(info.Type) + ".json"
	require.NoError(t, c.AddResource(url, doc))
	sch, err := c.Compile(url)
	require.NoError(t, err, "schema of %s", info.Type)
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	require.NoError(t, err)
	return sch.Validate(inst)
}

// checkGolden compares want with the file at path, after rewriting the file
// when -update-events is set.
func checkGolden(t *testing.T, path string, want []byte) {
	t.Helper()
	want = append(bytes.Clone(want), '\n')
	if *updateEvents {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, want, 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err, "regenerate with go test -run TestCatalogGoldenFiles -update-events")
	require.Equal(t, string(want), string(got), "%s differs from the catalog; regenerate with -update-events", path)
}

// TestCatalogGoldenFiles keeps ../testdata/events (one sample envelope per
// type) and ../testdata/schemas (the schemas, for readers outside Go) equal
// to the catalog.
func TestCatalogGoldenFiles(t *testing.T) {
	// Not parallel: with -update-events it writes the files the others read.
	for _, info := range onplana.Catalog() {
		checkGolden(t, goldenPath(info.Type), info.Sample)
		checkGolden(t, filepath.Join(testdata, "schemas", string(info.Type)+".schema.json"), info.Schema)
	}
	for _, pattern := range []string{"events/*.json", "schemas/*.json"} {
		files, err := filepath.Glob(filepath.Join(testdata, pattern))
		require.NoError(t, err)
		require.Len(t, files, len(allTypes), "testdata/%s: one file per type, no stale ones", pattern)
	}
}

func TestCatalogGoldenValidates(t *testing.T) {
	t.Parallel()
	for _, info := range onplana.Catalog() {
		t.Run(string(info.Type), func(t *testing.T) {
			t.Parallel()
			sch := compileSchema(t, info)
			require.NoError(t, validate(t, sch, readGolden(t, info.Type)))
			require.NoError(t, validate(t, sch, info.Sample))
		})
	}
}

// payloadFor returns a new payload value of the category's Data type.
func payloadFor(t *testing.T, category string) any {
	t.Helper()
	switch category {
	case webhook.CategoryProject:
		return new(onplana.ProjectEventData)
	case webhook.CategoryTask:
		return new(onplana.TaskEventData)
	case webhook.CategoryMilestone:
		return new(onplana.MilestoneEventData)
	case webhook.CategoryComment:
		return new(onplana.CommentEventData)
	case webhook.CategoryMember:
		return new(onplana.MemberEventData)
	case webhook.CategoryWebhook:
		return new(onplana.PingEventData)
	}
	t.Fatalf("no payload type for category %q", category)
	return nil
}

func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v))
}

func TestCatalogGoldenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, typ := range allTypes {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			golden := readGolden(t, typ)

			var e webhook.Event
			decodeStrict(t, golden, &e)
			require.Equal(t, typ, e.Type)

			payload := payloadFor(t, typ.Category())
			decodeStrict(t, e.Data, payload) // no field the Go types lack
			require.NoError(t, e.DecodeData(payload))

			// Re-encode through the typed payload: nothing lost or added.
			data, err := json.Marshal(payload)
			require.NoError(t, err)
			e.Data = data
			out, err := json.Marshal(e)
			require.NoError(t, err)
			require.JSONEq(t, string(golden), string(out))
		})
	}
}

// mutate decodes the sample of typ, applies f to it and re-encodes it.
func mutate(t *testing.T, typ webhook.EventType, f func(env map[string]any)) []byte {
	t.Helper()
	info, ok := onplana.LookupEvent(typ)
	require.True(t, ok)
	var env map[string]any
	require.NoError(t, json.Unmarshal(info.Sample, &env))
	f(env)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

func data(env map[string]any) map[string]any { return env["data"].(map[string]any) }

func res(env map[string]any, name string) map[string]any {
	return data(env)[name].(map[string]any)
}

func TestCatalogSchemaRejectsInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		typ   webhook.EventType
		f     func(env map[string]any)
		valid bool
	}{
		{name: "missing data.task", typ: "task.updated", f: func(e map[string]any) { delete(data(e), "task") }},
		{name: "missing data", typ: "task.created", f: func(e map[string]any) { delete(e, "data") }},
		{name: "wrong event const", typ: "task.updated", f: func(e map[string]any) { e["event"] = "task.created" }},
		{name: "unknown event", typ: "task.updated", f: func(e map[string]any) { e["event"] = "task.exploded" }},
		{name: "bad task status enum", typ: "task.created", f: func(e map[string]any) { res(e, "task")["status"] = "paused" }},
		{name: "bad project status enum", typ: "project.created", f: func(e map[string]any) { res(e, "project")["status"] = "green" }},
		{name: "bad role enum", typ: "member.invited", f: func(e map[string]any) { res(e, "member")["role"] = "SUPERUSER" }},
		{name: "lowercase role", typ: "member.invited", f: func(e map[string]any) { res(e, "member")["role"] = "admin" }},
		{name: "bad comment target", typ: "comment.created", f: func(e map[string]any) { res(e, "comment")["target_type"] = "milestone" }},
		{name: "missing diff on task.updated", typ: "task.updated", f: func(e map[string]any) { delete(data(e), "diff") }},
		{name: "missing diff on member.role_changed", typ: "member.role_changed", f: func(e map[string]any) { delete(data(e), "diff") }},
		{name: "empty diff", typ: "milestone.updated", f: func(e map[string]any) { data(e)["diff"] = map[string]any{} }},
		{name: "diff without status on status_changed", typ: "project.status_changed", f: func(e map[string]any) {
			data(e)["diff"] = map[string]any{"name": map[string]any{"before": "a", "after": "b"}}
		}},
		{name: "diff names unknown field", typ: "task.updated", f: func(e map[string]any) {
			data(e)["diff"].(map[string]any)["estimate"] = map[string]any{"before": 1, "after": 2}
		}},
		{name: "diff entry without after", typ: "task.updated", f: func(e map[string]any) {
			data(e)["diff"].(map[string]any)["status"] = map[string]any{"before": "todo"}
		}},
		{name: "diff on a create event", typ: "task.created", f: func(e map[string]any) {
			data(e)["diff"] = map[string]any{"title": map[string]any{"before": "a", "after": "b"}}
		}},
		{name: "delivery id without prefix", typ: "task.created", f: func(e map[string]any) { e["delivery_id"] = "01jyq8x3m5" }},
		{name: "event id without prefix", typ: "task.created", f: func(e map[string]any) { e["event_id"] = "dlv_01jyq8x3m5" }},
		{name: "missing delivery id", typ: "task.created", f: func(e map[string]any) { delete(e, "delivery_id") }},
		{name: "timestamp not date-time", typ: "task.created", f: func(e map[string]any) { e["timestamp"] = "yesterday" }},
		{name: "due date not a date", typ: "task.updated", f: func(e map[string]any) { res(e, "task")["due_date"] = "07/03/2026" }},
		{name: "unknown top-level field", typ: "task.created", f: func(e map[string]any) { e["signature"] = "abc" }},
		{name: "unknown resource field", typ: "task.created", f: func(e map[string]any) { res(e, "task")["asignee_ids"] = []any{} }},
		{name: "missing project id on task event", typ: "task.created", f: func(e map[string]any) { delete(e, "project_id") }},
		{name: "empty project id on task event", typ: "task.created", f: func(e map[string]any) { e["project_id"] = "" }},
		{name: "empty organization id", typ: "webhook.ping", f: func(e map[string]any) { e["organization_id"] = "" }},
		{name: "task.completed not done", typ: "task.completed", f: func(e map[string]any) { res(e, "task")["status"] = "in_progress" }},
		{name: "task.deleted without deleted_at", typ: "task.deleted", f: func(e map[string]any) { delete(res(e, "task"), "deleted_at") }},
		{name: "missing assignee_id on task.assigned", typ: "task.assigned", f: func(e map[string]any) { delete(data(e), "assignee_id") }},
		{name: "assignees null", typ: "task.created", f: func(e map[string]any) { res(e, "task")["assignee_ids"] = nil }},
		{name: "project membership without envelope project", typ: "member.role_changed", f: func(e map[string]any) { delete(e, "project_id") }},
		{name: "project membership without member project", typ: "member.role_changed", f: func(e map[string]any) { delete(res(e, "member"), "project_id") }},
		{name: "org membership naming a project", typ: "member.invited", f: func(e map[string]any) { e["project_id"] = "proj_xyz789" }},
		{name: "actor of unknown type", typ: "comment.created", f: func(e map[string]any) { data(e)["actor"].(map[string]any)["type"] = "robot" }},
		{name: "ping with the subscription URL", typ: "webhook.ping", f: func(e map[string]any) { res(e, "webhook")["url"] = "https://hooks.example/x" }},

		{name: "org membership with empty project id", typ: "member.invited", valid: true, f: func(e map[string]any) { e["project_id"] = "" }},
		{name: "actor omitted", typ: "task.updated", valid: true, f: func(e map[string]any) { delete(data(e), "actor") }},
		{name: "ping with project id", typ: "webhook.ping", valid: true, f: func(e map[string]any) { e["project_id"] = "proj_xyz789" }},
		{name: "diff clearing a field", typ: "task.updated", valid: true, f: func(e map[string]any) {
			data(e)["diff"].(map[string]any)["milestone_id"] = map[string]any{"before": "ms_1", "after": nil}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, ok := onplana.LookupEvent(tt.typ)
			require.True(t, ok)
			body := mutate(t, tt.typ, tt.f)
			err := validate(t, compileSchema(t, info), body)
			ours := onplana.ValidateEnvelope(tt.typ, body) // Validator's schema check
			if tt.valid {
				require.NoError(t, err)
				require.NoError(t, ours)
			} else {
				require.Error(t, err)
				require.Error(t, ours)
			}
		})
	}
}

func TestCatalogComplete(t *testing.T) {
	t.Parallel()
	cat := onplana.Catalog()
	require.Len(t, cat, len(allTypes))
	categories := map[string]bool{}
	for i, info := range cat {
		require.Equal(t, allTypes[i], info.Type, "stable order")
		require.True(t, info.Type.Known())
		require.Equal(t, info.Type.Category(), info.Category)
		categories[info.Category] = true
		require.NotEmpty(t, info.Description)
		require.NotContains(t, info.Description, "\n")
		require.True(t, strings.HasSuffix(info.Description, "."), info.Description)
		require.Equal(t, slices.Contains(updateTypes, info.Type), info.HasDiff, info.Type)
		require.Equal(t, info.Category != webhook.CategoryMember && info.Category != webhook.CategoryWebhook,
			info.ProjectScoped, info.Type)
		require.True(t, json.Valid(info.Schema))
		require.True(t, json.Valid(info.Sample))

		var schema struct {
			Dialect string `json:"$schema"`
			Title   string `json:"title"`
		}
		require.NoError(t, json.Unmarshal(info.Schema, &schema))
		require.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema.Dialect)
		require.Equal(t, string(info.Type), schema.Title)

		got, ok := onplana.LookupEvent(info.Type)
		require.True(t, ok)
		require.Equal(t, info, got)
	}
	require.Equal(t, map[string]bool{"project": true, "task": true, "milestone": true,
		"comment": true, "member": true, "webhook": true}, categories)

	_, ok := onplana.LookupEvent("task.exploded")
	require.False(t, ok)
	_, ok = onplana.LookupEvent("")
	require.False(t, ok)
}

func TestCatalogReturnsCopies(t *testing.T) {
	t.Parallel()
	first := onplana.Catalog()
	want := string(first[0].Schema)
	first[0].Schema[0] = 'X'
	first[0].Sample[0] = 'X'
	info, _ := onplana.LookupEvent(first[0].Type)
	info.Schema[1] = 'X'
	require.Equal(t, want, string(onplana.Catalog()[0].Schema))
	again, _ := onplana.LookupEvent(first[0].Type)
	require.True(t, json.Valid(again.Schema))
	require.True(t, json.Valid(again.Sample))
}

// jsonFields returns the JSON names of the fields of struct type typ and
// which of them are always encoded (no omitempty or omitzero).
func jsonFields(typ reflect.Type) (names, required []string) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	return names, required
}

type schemaObject struct {
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	Defs       map[string]schemaObject    `json:"$defs"`
}

func (s schemaObject) propertyNames() []string {
	var names []string
	for name := range s.Properties {
		names = append(names, name)
	}
	return names
}

// TestCatalogSchemaMatchesTypes keeps the hand-written schemas and the Go
// types in step: every field of a resource struct is a property of its
// schema and the other way round, and exactly the fields always encoded are
// required.
func TestCatalogSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	resources := []struct {
		typ     webhook.EventType
		def     string
		value   any
		payload any
	}{
		{"project.updated", "project", onplana.Project{}, onplana.ProjectEventData{}},
		{"task.assigned", "task", onplana.Task{}, onplana.TaskEventData{}},
		{"milestone.updated", "milestone", onplana.Milestone{}, onplana.MilestoneEventData{}},
		{"comment.created", "comment", onplana.Comment{}, onplana.CommentEventData{}},
		{"member.role_changed", "member", onplana.Member{}, onplana.MemberEventData{}},
		{"webhook.ping", "webhook", onplana.WebhookRef{}, onplana.PingEventData{}},
		{"task.created", "actor", onplana.Actor{}, nil},
	}
	for _, r := range resources {
		t.Run(r.def, func(t *testing.T) {
			t.Parallel()
			info, ok := onplana.LookupEvent(r.typ)
			require.True(t, ok)
			var env schemaObject
			require.NoError(t, json.Unmarshal(info.Schema, &env))

			def, ok := env.Defs[r.def]
			require.True(t, ok, "$defs.%s in %s", r.def, r.typ)
			names, required := jsonFields(reflect.TypeOf(r.value))
			require.ElementsMatch(t, names, def.propertyNames())
			require.ElementsMatch(t, required, def.Required)

			// The envelope's properties are Event's fields.
			names, _ = jsonFields(reflect.TypeFor[webhook.Event]())
			require.ElementsMatch(t, names, env.propertyNames())

			if r.payload != nil {
				// Every data property the schema allows is a payload field.
				var data schemaObject
				require.NoError(t, json.Unmarshal(env.Properties["data"], &data))
				names, _ = jsonFields(reflect.TypeOf(r.payload))
				require.Subset(t, names, data.propertyNames())
			}
		})
	}
}
