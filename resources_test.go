package webhook_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

func TestRoleAtLeast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		role    webhook.Role
		min     webhook.Role
		atLeast bool
	}{
		{name: "owner is admin and above", role: webhook.RoleOwner, min: webhook.RoleAdmin, atLeast: true},
		{name: "admin is admin and above", role: webhook.RoleAdmin, min: webhook.RoleAdmin, atLeast: true},
		{name: "member is not", role: webhook.RoleMember, min: webhook.RoleAdmin},
		{name: "viewer is not", role: webhook.RoleViewer, min: webhook.RoleMember},
		{name: "viewer is viewer", role: webhook.RoleViewer, min: webhook.RoleViewer, atLeast: true},
		{name: "unknown role", role: "SUPERUSER", min: webhook.RoleViewer},
		{name: "lowercase is unknown", role: "owner", min: webhook.RoleViewer},
		{name: "empty role", role: "", min: webhook.RoleViewer},
		{name: "unknown minimum", role: webhook.RoleOwner, min: "ROOT"},
		{name: "empty minimum", role: webhook.RoleOwner, min: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.atLeast, tt.role.AtLeast(tt.min))
		})
	}
}

func TestEnumsValid(t *testing.T) {
	t.Parallel()
	type valider interface{ Valid() bool }
	tests := []struct {
		name  string
		valid []valider
		bad   valider
	}{
		{name: "ProjectStatus", valid: []valider{webhook.ProjectStatusOnTrack, webhook.ProjectStatusAtRisk, webhook.ProjectStatusOffTrack}, bad: webhook.ProjectStatus("green")},
		{name: "TaskStatus", valid: []valider{webhook.TaskStatusTodo, webhook.TaskStatusInProgress, webhook.TaskStatusBlocked, webhook.TaskStatusInReview, webhook.TaskStatusDone, webhook.TaskStatusCanceled}, bad: webhook.TaskStatus("paused")},
		{name: "TaskPriority", valid: []valider{webhook.TaskPriorityLow, webhook.TaskPriorityMedium, webhook.TaskPriorityHigh, webhook.TaskPriorityUrgent}, bad: webhook.TaskPriority("p1")},
		{name: "MilestoneStatus", valid: []valider{webhook.MilestoneStatusOpen, webhook.MilestoneStatusCompleted}, bad: webhook.MilestoneStatus("late")},
		{name: "CommentTarget", valid: []valider{webhook.CommentOnTask, webhook.CommentOnProject}, bad: webhook.CommentTarget("milestone")},
		{name: "Role", valid: []valider{webhook.RoleOwner, webhook.RoleAdmin, webhook.RoleMember, webhook.RoleViewer}, bad: webhook.Role("GUEST")},
		{name: "MemberScope", valid: []valider{webhook.ScopeOrganization, webhook.ScopeProject}, bad: webhook.MemberScope("org")},
		{name: "MemberStatus", valid: []valider{webhook.MemberStatusInvited, webhook.MemberStatusActive, webhook.MemberStatusDeactivated}, bad: webhook.MemberStatus("")},
		{name: "ActorType", valid: []valider{webhook.ActorUser, webhook.ActorIntegration, webhook.ActorSystem}, bad: webhook.ActorType("bot")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range tt.valid {
				require.True(t, v.Valid(), "%v", v)
			}
			require.False(t, tt.bad.Valid(), "%v", tt.bad)
		})
	}
}

func TestTaskAssigneesAlwaysAnArray(t *testing.T) {
	t.Parallel()
	for _, task := range []any{webhook.Task{}, &webhook.Task{}, webhook.TaskEventData{}} {
		b, err := json.Marshal(task)
		require.NoError(t, err)
		require.Contains(t, string(b), `"assignee_ids":[]`, "%T", task)
	}
	b, err := json.Marshal(webhook.Task{AssigneeIDs: []string{"usr_1"}})
	require.NoError(t, err)
	require.Contains(t, string(b), `"assignee_ids":["usr_1"]`)
}
