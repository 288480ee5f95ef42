package webhook_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
)

// Publish: matching, validation, and the catalog's samples.

func TestDispatcherPublishMatchesScopeAndTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	mk := func(org, project string, types ...string) string {
		sub, err := h.d.CreateSubscription(ctx, webhook.SubscriptionParams{
			OrganizationID: org, ProjectID: project, URL: "https://hooks.example.com/" + org, EventTypes: types,
		})
		require.NoError(t, err)
		return sub.ID
	}
	orgAll := mk("org_1", "", "*")
	orgTasks := mk("org_1", "", "task.*")
	projExact := mk("org_1", "proj_1", "task.updated")
	otherProj := mk("org_1", "proj_2", "task.*")
	otherOrg := mk("org_2", "", "*")
	milestones := mk("org_1", "", "milestone.completed")
	_, _ = otherProj, otherOrg

	tests := []struct {
		name    string
		typ     webhook.EventType
		project string
		want    []string
	}{
		{"project task event", webhook.EventTaskUpdated, "proj_1", []string{orgAll, orgTasks, projExact}},
		{"other type in the category", webhook.EventTaskCreated, "proj_1", []string{orgAll, orgTasks}},
		{"other project", webhook.EventTaskUpdated, "proj_2", []string{orgAll, orgTasks, otherProj}},
		{"organization-level event", webhook.EventMemberInvited, "", []string{orgAll}},
		{"explicit type", webhook.EventMilestoneCompleted, "proj_3", []string{orgAll, milestones}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "evt_" + strings.ReplaceAll(tt.name, " ", "_")
			require.NoError(t, h.d.Publish(ctx, webhook.Event{
				ID: id, Type: tt.typ, OrganizationID: "org_1", ProjectID: tt.project, Data: eventData(tt.typ),
			}))
			var got []string
			for _, org := range []string{"org_1", "org_2"} {
				dls, _, err := h.store.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: org, Page: webhook.Page{Limit: webhook.MaxPageSize}})
				require.NoError(t, err)
				for _, d := range dls {
					if d.EventID == id {
						got = append(got, d.SubscriptionID)
						require.Equal(t, "org_1", d.OrganizationID)
					}
				}
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestDispatcherPublishValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.MaxPayloadBytes = 1024 })
	h.subscribe(t, "https://hooks.example.com/x", "", "*")
	valid := webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: []byte(`{"task":{"id":"task_1"}}`)}
	update := webhook.Event{Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1",
		Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`)}
	tests := []struct {
		name  string
		event webhook.Event
		edit  func(*webhook.Event)
		field string
	}{
		{"unknown type", valid, func(e *webhook.Event) { e.Type = "task.exploded" }, "Type"},
		{"ping", valid, func(e *webhook.Event) { e.Type = webhook.EventPing }, "Type"},
		{"no organization", valid, func(e *webhook.Event) { e.OrganizationID = "" }, "OrganizationID"},
		{"delivery id set", valid, func(e *webhook.Event) { e.DeliveryID = "dlv_x" }, "DeliveryID"},
		{"id with a dot", valid, func(e *webhook.Event) { e.ID = "evt.1" }, "ID"},
		{"control character", valid, func(e *webhook.Event) { e.ProjectID = "proj\n1" }, "ProjectID"},
		{"data not an object", valid, func(e *webhook.Event) { e.Data = []byte(`[1]`) }, "Data"},
		{"data not JSON", valid, func(e *webhook.Event) { e.Data = []byte(`{"a":`) }, "Data"},
		{"resource not JSON", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":}}`) }, "Data"},
		{"no data", valid, func(e *webhook.Event) { e.Data = nil }, "Data"},

		// What the catalog forbids (issue 12).
		{"project-scoped type without project_id", valid, func(e *webhook.Event) { e.ProjectID = "" }, "ProjectID"},
		{"resource not an object", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":42}`) }, "Data.task"},
		{"resource null", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":null}`) }, "Data.task"},
		{"empty data", valid, func(e *webhook.Event) { e.Data = []byte(`{}`) }, "Data.task"},
		{"resource of another category", valid, func(e *webhook.Event) { e.Data = []byte(`{"project":{"id":"proj_1"}}`) }, "Data.task"},
		{"resource repeated", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"a"},"task":{"id":"b"}}`) }, "Data.task"},
		{"resource without id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"title":"x"}}`) }, "Data.task.id"},
		{"resource with an empty id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":""}}`) }, "Data.task.id"},
		{"resource with a numeric id", valid, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":7}}`) }, "Data.task.id"},
		{"update without diff", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"}}`) }, "Data.diff"},
		{"update with an empty diff", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"},"diff":{}}`) }, "Data.diff"},
		{"update with a diff not an object", update, func(e *webhook.Event) { e.Data = []byte(`{"task":{"id":"task_1"},"diff":["title"]}`) }, "Data.diff"},
		{"member event without its member", valid, func(e *webhook.Event) {
			e.Type, e.ProjectID, e.Data = webhook.EventMemberInvited, "", []byte(`{"task":{"id":"task_1"}}`)
		}, "Data.member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.event
			tt.edit(&e)
			var ve *webhook.ValidationError
			require.ErrorAs(t, h.d.Publish(context.Background(), e), &ve)
			require.Equal(t, tt.field, ve.Field, ve.Error())
		})
	}

	big := valid
	big.Data = []byte(`{"task":{"id":"task_1"},"text":"` + strings.Repeat("a", 1024) + `"}`)
	require.ErrorIs(t, h.d.Publish(context.Background(), big), webhook.ErrPayloadTooLarge)
	require.NoError(t, h.d.Publish(context.Background(), valid))
	require.NoError(t, h.d.Publish(context.Background(), update))
	member := webhook.Event{Type: webhook.EventMemberRoleChanged, OrganizationID: "org_1",
		Data: []byte(` { "member" : { "id" : "mem_1" } , "diff" : { "role" : { "before" : "member" , "after" : "admin" } } } `)}
	require.NoError(t, h.d.Publish(context.Background(), member), "organization-level, whitespace anywhere")
}

// TestDispatcherPublishesGoldenSamples checks that every golden sample of
// testdata/events, the catalog's own envelopes, passes Publish's checks
// and is delivered with its data unchanged.
func TestDispatcherPublishesGoldenSamples(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	_, err := h.d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: "https://hooks.example.com/x", EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	files, err := filepath.Glob("testdata/events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	published := 0
	for _, path := range files {
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		sample, err := webhook.ParseEvent(body)
		require.NoError(t, err, path)
		if sample.Type == webhook.EventPing {
			continue // sent by the Dispatcher, never published
		}
		e := webhook.Event{ID: sample.ID, Type: sample.Type, Timestamp: sample.Timestamp,
			OrganizationID: sample.OrganizationID, ProjectID: sample.ProjectID, Data: sample.Data}
		require.NoError(t, h.d.Publish(context.Background(), e), path)
		dls, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{EventType: sample.Type})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		got, err := webhook.ParseEvent(dls[0].Body)
		require.NoError(t, err)
		require.JSONEq(t, string(sample.Data), string(got.Data))
		published++
	}
	require.Equal(t, len(files)-1, published)
}
