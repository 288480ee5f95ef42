package onplana_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// sampleEvent returns the Event a publisher would publish to send the
// catalog's sample of typ: its fields, without the delivery id.
func sampleEvent(t testing.TB, typ webhook.EventType) webhook.Event {
	t.Helper()
	info, ok := onplana.LookupEvent(typ)
	require.True(t, ok)
	e, err := webhook.ParseEvent(info.Sample)
	require.NoError(t, err)
	e.DeliveryID = ""
	return *e
}

// validatingDispatcher returns a Dispatcher over a MemoryStore whose
// Config.Validator is the catalog's, with a subscription of the samples'
// organization to every type.
func validatingDispatcher(t testing.TB) (*webhook.Dispatcher, *webhook.MemoryStore) {
	t.Helper()
	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{Validator: onplana.Validator(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	_, err = d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: "https://hooks.example.com/onplana", EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	return d, store
}

// TestValidatorPublishesGoldenSamples checks that every golden sample of
// testdata/events publishes with the catalog's Validator, and that the
// Validator accepts each of them as is, even before Publish fills the
// event's ID and Timestamp (as pgstore's PublishTx calls it).
func TestValidatorPublishesGoldenSamples(t *testing.T) {
	t.Parallel()
	d, store := validatingDispatcher(t)
	for _, typ := range allTypes {
		e := sampleEvent(t, typ)
		require.NoError(t, onplana.Validator().ValidateEvent(&e), typ)
		unfilled := e
		unfilled.ID, unfilled.Timestamp = "", time.Time{}
		require.NoError(t, onplana.Validator().ValidateEvent(&unfilled), typ)
		if typ == webhook.EventPing {
			continue // sent by the Dispatcher, never published
		}
		require.NoError(t, d.Publish(context.Background(), e), typ)
		dls, _, err := store.ListDeliveries(context.Background(), webhook.DeliveryQuery{EventType: typ})
		require.NoError(t, err)
		require.Len(t, dls, 1, typ)
	}
}

// TestValidatorRefusesWhatTheCatalogForbids publishes events that the
// schema of their type forbids, through a Dispatcher with the catalog's
// Validator: each is refused with a *ValidationError naming the field.
// The first rows are caught by Publish's own checks before the Validator
// runs; the others only by the schema.
func TestValidatorRefusesWhatTheCatalogForbids(t *testing.T) {
	t.Parallel()
	d, _ := validatingDispatcher(t)
	tests := []struct {
		name  string
		typ   webhook.EventType
		edit  func(e *webhook.Event, data map[string]any)
		field string
	}{
		{"no project_id", webhook.EventTaskCreated, func(e *webhook.Event, _ map[string]any) { e.ProjectID = "" }, "ProjectID"},
		{"task not an object", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) { d["task"] = 42 }, "Data.task"},
		{"no task", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) { delete(d, "task") }, "Data.task"},
		{"update without diff", webhook.EventTaskUpdated, func(_ *webhook.Event, d map[string]any) { delete(d, "diff") }, "Data.diff"},

		{"task without url", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) { delete(obj(d, "task"), "url") }, "Data.task.url"},
		{"task status not in the enum", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) { obj(d, "task")["status"] = "paused" }, "Data.task.status"},
		{"unknown task field", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) { obj(d, "task")["colour"] = "red" }, "Data.task.colour"},
		{"due date not a date", webhook.EventTaskUpdated, func(_ *webhook.Event, d map[string]any) { obj(d, "task")["due_date"] = "07/03/2026" }, "Data.task.due_date"},
		{"assignee repeated", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) {
			obj(d, "task")["assignee_ids"] = []any{"usr_1", "usr_1"}
		}, "Data.task.assignee_ids[1]"},
		{"diff naming an unknown field", webhook.EventTaskUpdated, func(_ *webhook.Event, d map[string]any) {
			obj(d, "diff")["estimate"] = map[string]any{"before": 1, "after": 2}
		}, "Data.diff.estimate"},
		{"diff on a create event", webhook.EventTaskCreated, func(_ *webhook.Event, d map[string]any) {
			d["diff"] = map[string]any{"title": map[string]any{"before": "a", "after": "b"}}
		}, "Data.diff"},
		{"completed task not done", webhook.EventTaskCompleted, func(_ *webhook.Event, d map[string]any) { obj(d, "task")["status"] = "in_progress" }, "Data.task.status"},
		{"status change without status", webhook.EventProjectStatusChanged, func(_ *webhook.Event, d map[string]any) {
			d["diff"] = map[string]any{"name": map[string]any{"before": "a", "after": "b"}}
		}, "Data.diff.status"},
		{"organization membership naming a project", webhook.EventMemberInvited, func(e *webhook.Event, _ map[string]any) { e.ProjectID = "proj_xyz789" }, "ProjectID"},
		{"organization member with a project", webhook.EventMemberInvited, func(_ *webhook.Event, d map[string]any) { obj(d, "member")["project_id"] = "proj_1" }, "Data.member.project_id"},
		{"actor email not an address", webhook.EventCommentCreated, func(_ *webhook.Event, d map[string]any) { obj(d, "actor")["email"] = "maya at acme" }, "Data.actor.email"},
		// RFC 5321 requires a local part; santhosh-tekuri/jsonschema, which
		// TestValidatorAgreesWithJSONSchema compares with, accepts none.
		{"actor email without local part", webhook.EventCommentCreated, func(_ *webhook.Event, d map[string]any) { obj(d, "actor")["email"] = "@acme.example" }, "Data.actor.email"},
		{"event id of another shape", webhook.EventTaskCreated, func(e *webhook.Event, _ map[string]any) { e.ID = "order-42" }, "ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := sampleEvent(t, tt.typ)
			var data map[string]any
			require.NoError(t, json.Unmarshal(e.Data, &data))
			tt.edit(&e, data)
			var err error
			e.Data, err = json.Marshal(data)
			require.NoError(t, err)
			err = d.Publish(context.Background(), e)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, ve.Error())
		})
	}
}

func obj(m map[string]any, name string) map[string]any { return m[name].(map[string]any) }

// TestValidatorAgreesWithJSONSchema compares the Validator's verdict with
// an independent JSON Schema implementation's (santhosh-tekuri/jsonschema,
// format assertions on) on the samples and thousands of mutations of
// them: every member of data removed, replaced by values of each JSON
// type and by strings of each format, and an unknown member added to
// every object; and the envelope without its project. (One difference is
// deliberate: an email address with an empty local part, which the
// reference accepts; see TestValidatorRefusesWhatTheCatalogForbids.)
func TestValidatorAgreesWithJSONSchema(t *testing.T) {
	t.Parallel()
	replacements := []any{nil, true, 42, 1.5, "", "x", "2026-07-01", "2026-06-27T09:15:23Z", "2026-06-27T09:15:23+02:00",
		"2026-13-01", "2026-06-27 09:15:23Z", "https://app.onplana.com/x", "/relative", "maya@acme.example", "maya@", "maya..chen@acme.example", "maya@acme..example",
		"todo", "done", "ADMIN", "project", "organization", "user", "dlv_1", []any{}, []any{"usr_1"}, []any{"usr_1", "usr_1"}, []any{42},
		map[string]any{}, map[string]any{"before": "a", "after": "b"}}
	for _, info := range onplana.Catalog() {
		t.Run(string(info.Type), func(t *testing.T) {
			t.Parallel()
			sch := compileSchema(t, info)
			sample := sampleEvent(t, info.Type)
			var data any
			require.NoError(t, json.Unmarshal(sample.Data, &data))
			checked, refused := 0, 0
			check := func(what string, project string, data any) {
				e := sample
				e.ProjectID = project
				var err error
				e.Data, err = json.Marshal(data)
				require.NoError(t, err)
				env := map[string]any{"delivery_id": "dlv_0", "event_id": e.ID, "event": e.Type,
					"timestamp": e.Timestamp.UTC().Format(time.RFC3339Nano), "organization_id": e.OrganizationID, "data": data}
				if project != "" {
					env["project_id"] = project
				}
				body, err := json.Marshal(env)
				require.NoError(t, err)
				want := validate(t, sch, body)
				got := onplana.Validator().ValidateEvent(&e)
				require.Equal(t, want == nil, got == nil, "%s: %s\njsonschema: %v\nValidator: %v", what, e.Data, want, got)
				checked++
				if got != nil {
					refused++
				}
			}
			check("sample", sample.ProjectID, data)
			check("no project", "", data)
			for _, m := range mutations(data, replacements) {
				check(m.what, sample.ProjectID, m.data)
			}
			t.Logf("%d envelopes, %d refused", checked, refused)
			require.Greater(t, refused, checked/2, "most mutations break the schema")
			require.Less(t, refused, checked, "some mutations keep it valid")
		})
	}
}

// mutation is a changed copy of a decoded JSON value.
type mutation struct {
	what string
	data any
}

// mutations returns copies of v with one change each, at every depth:
// each member of an object removed or replaced by each of replacements,
// a member added, and each item of an array replaced likewise.
func mutations(v any, replacements []any) []mutation {
	var out []mutation
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		with := func(k string, x any, del bool) map[string]any {
			c := make(map[string]any, len(v)+1)
			for name, val := range v {
				c[name] = val
			}
			if del {
				delete(c, k)
			} else {
				c[k] = x
			}
			return c
		}
		out = append(out, mutation{"add zz_extra", with("zz_extra", "x", false)})
		for _, k := range names {
			out = append(out, mutation{"remove " + k, with(k, nil, true)})
			for _, r := range replacements {
				out = append(out, mutation{fmt.Sprintf("%s = %v", k, r), with(k, r, false)})
			}
			for _, m := range mutations(v[k], replacements) {
				out = append(out, mutation{k + "." + m.what, with(k, m.data, false)})
			}
		}
	case []any:
		for i := range v {
			for _, r := range replacements {
				c := append([]any(nil), v...)
				c[i] = r
				out = append(out, mutation{fmt.Sprintf("[%d] = %v", i, r), c})
			}
		}
	}
	return out
}

// TestValidatorNamesUnknownType checks the error for a type the catalog
// does not have (Publish refuses it before, with the same field).
func TestValidatorNamesUnknownType(t *testing.T) {
	t.Parallel()
	e := webhook.Event{Type: "task.exploded", OrganizationID: "org_1", Data: []byte(`{}`)}
	var ve *webhook.ValidationError
	require.ErrorAs(t, onplana.Validator().ValidateEvent(&e), &ve)
	require.Equal(t, "Type", ve.Field)
	require.True(t, strings.Contains(ve.Reason, "task.exploded"))
}

// BenchmarkPublishValidation measures what validation costs per Publish:
// Publish of the task.updated sample (a 1.3 KB envelope) to one matching
// subscription of a MemoryStore, with Publish's own checks only
// (validator=none) and with the catalog's Validator (validator=catalog);
// and the two checks alone: the Validator's ValidateEvent, and
// NewDeliveries with no subscription, which is Publish's own validation.
func BenchmarkPublishValidation(b *testing.B) {
	e := sampleEvent(b, webhook.EventTaskUpdated)
	for _, tc := range []struct {
		name      string
		validator webhook.EventValidator
	}{{"none", nil}, {"catalog", onplana.Validator()}} {
		b.Run("Publish/validator="+tc.name, func(b *testing.B) {
			store := webhook.NewMemoryStore()
			d, err := webhook.NewDispatcher(store, &webhook.Config{Validator: tc.validator, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(b, err)
			b.Cleanup(func() { _ = d.Close(context.Background()) })
			_, err = d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
				OrganizationID: e.OrganizationID, URL: "https://hooks.example.com/onplana", EventTypes: []string{"task.*"},
			})
			require.NoError(b, err)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("check=Validator", func(b *testing.B) {
		v := onplana.Validator()
		b.ReportAllocs()
		for b.Loop() {
			if err := v.ValidateEvent(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check=NewDeliveries", func(b *testing.B) {
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := webhook.NewDeliveries(e, nil, now, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
