package onplana

import (
	"encoding/json"
	"time"
)

// This file holds the resources an event describes and the payload types
// carried in webhook.Event.Data, one per event category. Decode a
// delivery's data with webhook.Event.DecodeData into the payload type of its
// category:
//
//	var data onplana.TaskEventData
//	err := e.DecodeData(&data)
//
// Optional fields are omitted from the JSON when empty rather than sent as
// null, so a field is either absent or holds a value of its documented type.
// Dates without a time (due dates) are strings "YYYY-MM-DD"; instants are
// RFC 3339 timestamps in UTC.

// ProjectStatus is the health of a project, as its owner reports it.
type ProjectStatus string

// Project statuses. A project.status_changed event fires when it changes.
const (
	ProjectStatusOnTrack  ProjectStatus = "on_track"
	ProjectStatusAtRisk   ProjectStatus = "at_risk"
	ProjectStatusOffTrack ProjectStatus = "off_track"
)

// Valid reports whether s is one of the ProjectStatus constants.
func (s ProjectStatus) Valid() bool {
	switch s {
	case ProjectStatusOnTrack, ProjectStatusAtRisk, ProjectStatusOffTrack:
		return true
	}
	return false
}

// Project is a project of an organization.
type Project struct {
	ID             string        `json:"id"`
	OrganizationID string        `json:"organization_id"`
	Name           string        `json:"name"`
	Description    string        `json:"description,omitempty"`
	Status         ProjectStatus `json:"status"`
	OwnerID        string        `json:"owner_id"`
	StartDate      string        `json:"start_date,omitempty"` // "YYYY-MM-DD"
	DueDate        string        `json:"due_date,omitempty"`   // "YYYY-MM-DD"
	URL            string        `json:"url"`                  // the project in the web app
	ArchivedAt     time.Time     `json:"archived_at,omitzero"`
	DeletedAt      time.Time     `json:"deleted_at,omitzero"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// TaskStatus is where a task is in its workflow.
type TaskStatus string

// Task statuses. A task that reaches TaskStatusDone also fires task.completed.
const (
	TaskStatusTodo       TaskStatus = "todo"
	TaskStatusInProgress TaskStatus = "in_progress"
	TaskStatusBlocked    TaskStatus = "blocked"
	TaskStatusInReview   TaskStatus = "in_review"
	TaskStatusDone       TaskStatus = "done"
	TaskStatusCanceled   TaskStatus = "canceled"
)

// Valid reports whether s is one of the TaskStatus constants.
func (s TaskStatus) Valid() bool {
	switch s {
	case TaskStatusTodo, TaskStatusInProgress, TaskStatusBlocked,
		TaskStatusInReview, TaskStatusDone, TaskStatusCanceled:
		return true
	}
	return false
}

// TaskPriority is how urgent a task is.
type TaskPriority string

// Task priorities, lowest first.
const (
	TaskPriorityLow    TaskPriority = "low"
	TaskPriorityMedium TaskPriority = "medium"
	TaskPriorityHigh   TaskPriority = "high"
	TaskPriorityUrgent TaskPriority = "urgent"
)

// Valid reports whether p is one of the TaskPriority constants.
func (p TaskPriority) Valid() bool {
	switch p {
	case TaskPriorityLow, TaskPriorityMedium, TaskPriorityHigh, TaskPriorityUrgent:
		return true
	}
	return false
}

// Task is a unit of work in a project.
type Task struct {
	ID          string       `json:"id"`
	ProjectID   string       `json:"project_id"`
	MilestoneID string       `json:"milestone_id,omitempty"`
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"`
	Status      TaskStatus   `json:"status"`
	Priority    TaskPriority `json:"priority"`
	// AssigneeIDs are the user ids of the assignees. It is always encoded
	// as an array, [] when nobody is assigned.
	AssigneeIDs []string  `json:"assignee_ids"`
	ReporterID  string    `json:"reporter_id,omitempty"`
	DueDate     string    `json:"due_date,omitempty"` // "YYYY-MM-DD"
	URL         string    `json:"url"`                // the task in the web app
	CompletedAt time.Time `json:"completed_at,omitzero"`
	DeletedAt   time.Time `json:"deleted_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MarshalJSON encodes t, with a nil AssigneeIDs as [] so that receivers
// always find an array.
func (t Task) MarshalJSON() ([]byte, error) {
	type plain Task // without methods: no recursion
	p := plain(t)
	if p.AssigneeIDs == nil {
		p.AssigneeIDs = []string{}
	}
	return json.Marshal(p)
}

// MilestoneStatus is whether a milestone is still ahead or reached.
type MilestoneStatus string

// Milestone statuses.
const (
	MilestoneStatusOpen      MilestoneStatus = "open"
	MilestoneStatusCompleted MilestoneStatus = "completed"
)

// Valid reports whether s is one of the MilestoneStatus constants.
func (s MilestoneStatus) Valid() bool {
	return s == MilestoneStatusOpen || s == MilestoneStatusCompleted
}

// Milestone is a dated checkpoint of a project.
type Milestone struct {
	ID          string          `json:"id"`
	ProjectID   string          `json:"project_id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Status      MilestoneStatus `json:"status"`
	DueDate     string          `json:"due_date,omitempty"` // "YYYY-MM-DD"
	URL         string          `json:"url"`
	CompletedAt time.Time       `json:"completed_at,omitzero"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// CommentTarget is the kind of resource a comment is attached to.
type CommentTarget string

// Comment targets.
const (
	CommentOnTask    CommentTarget = "task"
	CommentOnProject CommentTarget = "project"
)

// Valid reports whether t is one of the CommentTarget constants.
func (t CommentTarget) Valid() bool { return t == CommentOnTask || t == CommentOnProject }

// Comment is a comment on a task or on a project: TargetType says which,
// TargetID is the id of that task or project.
type Comment struct {
	ID         string        `json:"id"`
	ProjectID  string        `json:"project_id"`
	TargetType CommentTarget `json:"target_type"`
	TargetID   string        `json:"target_id"`
	AuthorID   string        `json:"author_id"`
	Body       string        `json:"body"` // Markdown
	// MentionIDs are the user ids mentioned in Body, if any.
	MentionIDs []string  `json:"mention_ids,omitempty"`
	URL        string    `json:"url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Role is a member's role, in an organization or a project. Roles are
// ordered: OWNER > ADMIN > MEMBER > VIEWER.
type Role string

// Roles, highest first.
const (
	RoleOwner  Role = "OWNER"
	RoleAdmin  Role = "ADMIN"
	RoleMember Role = "MEMBER"
	RoleViewer Role = "VIEWER"
)

// rank orders roles; 0 for an unknown role.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the Role constants.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is min or a higher role ("ADMIN and above":
// r.AtLeast(RoleAdmin)). An unknown role is never at least anything, and
// nothing is at least an unknown role.
func (r Role) AtLeast(min Role) bool {
	return r.Valid() && min.Valid() && r.rank() >= min.rank()
}

// MemberScope says whether a membership is in the organization or in one
// project.
type MemberScope string

// Membership scopes.
const (
	ScopeOrganization MemberScope = "organization"
	ScopeProject      MemberScope = "project"
)

// Valid reports whether s is one of the MemberScope constants.
func (s MemberScope) Valid() bool { return s == ScopeOrganization || s == ScopeProject }

// MemberStatus is the state of a membership.
type MemberStatus string

// Membership states: invited until the user accepts, then active until
// deactivated.
const (
	MemberStatusInvited     MemberStatus = "invited"
	MemberStatusActive      MemberStatus = "active"
	MemberStatusDeactivated MemberStatus = "deactivated"
)

// Valid reports whether s is one of the MemberStatus constants.
func (s MemberStatus) Valid() bool {
	switch s {
	case MemberStatusInvited, MemberStatusActive, MemberStatusDeactivated:
		return true
	}
	return false
}

// Member is a user's membership of an organization (Scope
// ScopeOrganization) or of one of its projects (ScopeProject, ProjectID set).
type Member struct {
	ID             string       `json:"id"` // the membership
	UserID         string       `json:"user_id"`
	OrganizationID string       `json:"organization_id"`
	Scope          MemberScope  `json:"scope"`
	ProjectID      string       `json:"project_id,omitempty"` // set when Scope is ScopeProject
	Email          string       `json:"email"`
	Name           string       `json:"name,omitempty"` // empty until an invited user signs up
	Role           Role         `json:"role"`
	Status         MemberStatus `json:"status"`
	InvitedByID    string       `json:"invited_by_id,omitempty"`
	InvitedAt      time.Time    `json:"invited_at,omitzero"`
	ActivatedAt    time.Time    `json:"activated_at,omitzero"`
	DeactivatedAt  time.Time    `json:"deactivated_at,omitzero"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// ActorType is the kind of principal that caused an event.
type ActorType string

// Actor types.
const (
	ActorUser        ActorType = "user"        // a person in the web app
	ActorIntegration ActorType = "integration" // an API token or OAuth app
	ActorSystem      ActorType = "system"      // the product itself (automation, schedules)
)

// Valid reports whether t is one of the ActorType constants.
func (t ActorType) Valid() bool {
	return t == ActorUser || t == ActorIntegration || t == ActorSystem
}

// Actor is who caused an event. It is optional in every payload.
type Actor struct {
	Type  ActorType `json:"type"`
	ID    string    `json:"id"`
	Name  string    `json:"name,omitempty"`
	Email string    `json:"email,omitempty"`
}

// FieldChange is one field of a diff. Before is JSON null when the field was
// absent (newly set), After is JSON null when it was removed (cleared).
type FieldChange struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// ProjectEventData is the Data of the project.* events. Diff is set on
// project.updated and project.status_changed.
type ProjectEventData struct {
	Project Project `json:"project"`
	Diff    Changes `json:"diff,omitzero"`
	Actor   *Actor  `json:"actor,omitempty"`
}

// TaskEventData is the Data of the task.* events. Diff is set on
// task.updated; AssigneeID, the user assigned or unassigned, on
// task.assigned and task.unassigned.
type TaskEventData struct {
	Task       Task    `json:"task"`
	Diff       Changes `json:"diff,omitzero"`
	AssigneeID string  `json:"assignee_id,omitempty"`
	Actor      *Actor  `json:"actor,omitempty"`
}

// MilestoneEventData is the Data of the milestone.* events. Diff is set on
// milestone.updated.
type MilestoneEventData struct {
	Milestone Milestone `json:"milestone"`
	Diff      Changes   `json:"diff,omitzero"`
	Actor     *Actor    `json:"actor,omitempty"`
}

// CommentEventData is the Data of the comment.* events.
type CommentEventData struct {
	Comment Comment `json:"comment"`
	Actor   *Actor  `json:"actor,omitempty"`
}

// MemberEventData is the Data of the member.* events. Diff is set on
// member.role_changed. The envelope's project_id is set for project
// memberships and empty for organization memberships.
type MemberEventData struct {
	Member Member  `json:"member"`
	Diff   Changes `json:"diff,omitzero"`
	Actor  *Actor  `json:"actor,omitempty"`
}

// PingEventData is the Data of webhook.ping, the test event a Dispatcher
// sends when a subscription is created and on demand, so that the receiver
// can check it is reachable and that its secret verifies. Message is
// webhook.PingMessage.
type PingEventData struct {
	Webhook WebhookRef `json:"webhook"`
	Message string     `json:"message"`
}

// WebhookRef describes the subscription a ping is sent to. It deliberately
// leaves out the URL (which can be a credential) and the secrets.
type WebhookRef struct {
	ID          string   `json:"id"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description,omitempty"`
}
