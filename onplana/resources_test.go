package onplana_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/onplana"
)

func TestRoleAtLeast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		role    onplana.Role
		min     onplana.Role
		atLeast bool
	}{
		{name: "owner is admin and above", role: onplana.RoleOwner, min: onplana.RoleAdmin, atLeast: true},
		{name: "admin is admin and above", role: onplana.RoleAdmin, min: onplana.RoleAdmin, atLeast: true},
		{name: "member is not", role: onplana.RoleMember, min: onplana.RoleAdmin},
		{name: "viewer is not", role: onplana.RoleViewer, min: onplana.RoleMember},
		{name: "viewer is viewer", role: onplana.RoleViewer, min: onplana.RoleViewer, atLeast: true},
		{name: "unknown role", role: "SUPERUSER", min: onplana.RoleViewer},
		{name: "lowercase is unknown", role: "owner", min: onplana.RoleViewer},
		{name: "empty role", role: "", min: onplana.RoleViewer},
		{name: "unknown minimum", role: onplana.RoleOwner, min: "ROOT"},
		{name: "empty minimum", role: onplana.RoleOwner, min: ""},
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
		{name: "ProjectStatus", valid: []valider{onplana.ProjectStatusOnTrack, onplana.ProjectStatusAtRisk, onplana.ProjectStatusOffTrack}, bad: onplana.ProjectStatus("green")},
		{name: "TaskStatus", valid: []valider{onplana.TaskStatusTodo, onplana.TaskStatusInProgress, onplana.TaskStatusBlocked, onplana.TaskStatusInReview, onplana.TaskStatusDone, onplana.TaskStatusCanceled}, bad: onplana.TaskStatus("paused")},
		{name: "TaskPriority", valid: []valider{onplana.TaskPriorityLow, onplana.TaskPriorityMedium, onplana.TaskPriorityHigh, onplana.TaskPriorityUrgent}, bad: onplana.TaskPriority("p1")},
		{name: "MilestoneStatus", valid: []valider{onplana.MilestoneStatusOpen, onplana.MilestoneStatusCompleted}, bad: onplana.MilestoneStatus("late")},
		{name: "CommentTarget", valid: []valider{onplana.CommentOnTask, onplana.CommentOnProject}, bad: onplana.CommentTarget("milestone")},
		{name: "Role", valid: []valider{onplana.RoleOwner, onplana.RoleAdmin, onplana.RoleMember, onplana.RoleViewer}, bad: onplana.Role("GUEST")},
		{name: "MemberScope", valid: []valider{onplana.ScopeOrganization, onplana.ScopeProject}, bad: onplana.MemberScope("org")},
		{name: "MemberStatus", valid: []valider{onplana.MemberStatusInvited, onplana.MemberStatusActive, onplana.MemberStatusDeactivated}, bad: onplana.MemberStatus("")},
		{name: "ActorType", valid: []valider{onplana.ActorUser, onplana.ActorIntegration, onplana.ActorSystem}, bad: onplana.ActorType("bot")},
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
	for _, task := range []any{onplana.Task{}, &onplana.Task{}, onplana.TaskEventData{}} {
		b, err := json.Marshal(task)
		require.NoError(t, err)
		require.Contains(t, string(b), `"assignee_ids":[]`, "%T", task)
	}
	b, err := json.Marshal(onplana.Task{AssigneeIDs: []string{"usr_1"}})
	require.NoError(t, err)
	require.Contains(t, string(b), `"assignee_ids":["usr_1"]`)
}
