package webhook_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// TestEventTypesAreTheCatalog checks the package's list of types, which
// subscription validation and matching use, against the catalog.
func TestEventTypesAreTheCatalog(t *testing.T) {
	t.Parallel()
	var catalog []webhook.EventType
	for _, info := range onplana.Catalog() {
		catalog = append(catalog, info.Type)
	}
	require.Equal(t, catalog, webhook.EventTypes)
}

func TestEventTypeKnown(t *testing.T) {
	t.Parallel()
	for _, typ := range webhook.EventTypes {
		require.True(t, typ.Known(), typ)
	}
	for _, typ := range []webhook.EventType{"", "task", "task.*", "*", "Task.Created", "task.created ", "task.exploded", "webhook.pong"} {
		require.False(t, typ.Known(), "%q", typ)
	}
}

func TestEventTypeCategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  webhook.EventType
		want string
	}{
		{name: "project", typ: webhook.EventProjectStatusChanged, want: webhook.CategoryProject},
		{name: "task", typ: webhook.EventTaskUpdated, want: webhook.CategoryTask},
		{name: "milestone", typ: webhook.EventMilestoneCompleted, want: webhook.CategoryMilestone},
		{name: "comment", typ: webhook.EventCommentCreated, want: webhook.CategoryComment},
		{name: "member", typ: webhook.EventMemberRoleChanged, want: webhook.CategoryMember},
		{name: "webhook", typ: webhook.EventPing, want: webhook.CategoryWebhook},
		{name: "wildcard", typ: "task.*", want: "task"},
		{name: "no dot", typ: "task", want: "task"},
		{name: "first dot only", typ: "a.b.c", want: "a"},
		{name: "empty", typ: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.typ.Category())
		})
	}
}

func TestEventTypeHasDiffAndScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		typ                    webhook.EventType
		hasDiff, projectScoped bool
	}{
		{name: "project update", typ: webhook.EventProjectUpdated, hasDiff: true, projectScoped: true},
		{name: "project status", typ: webhook.EventProjectStatusChanged, hasDiff: true, projectScoped: true},
		{name: "task update", typ: webhook.EventTaskUpdated, hasDiff: true, projectScoped: true},
		{name: "task created", typ: webhook.EventTaskCreated, projectScoped: true},
		{name: "milestone update", typ: webhook.EventMilestoneUpdated, hasDiff: true, projectScoped: true},
		{name: "comment", typ: webhook.EventCommentCreated, projectScoped: true},
		{name: "member role", typ: webhook.EventMemberRoleChanged, hasDiff: true},
		{name: "member invited", typ: webhook.EventMemberInvited},
		{name: "ping", typ: webhook.EventPing},
		{name: "unknown", typ: "task.exploded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.hasDiff, tt.typ.HasDiff())
			require.Equal(t, tt.projectScoped, tt.typ.ProjectScoped())
		})
	}
}
