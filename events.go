package webhook

import "github.com/onplana/webhook/internal/eventpattern"

// EventType names an event in the catalog, in the form resource.action.
type EventType string

// The event catalog. The onplana package describes each type: its payload,
// JSON Schema and a sample envelope.
const (
	EventProjectCreated       EventType = "project.created"
	EventProjectUpdated       EventType = "project.updated"
	EventProjectArchived      EventType = "project.archived"
	EventProjectDeleted       EventType = "project.deleted"
	EventProjectStatusChanged EventType = "project.status_changed"

	EventTaskCreated    EventType = "task.created"
	EventTaskUpdated    EventType = "task.updated"
	EventTaskCompleted  EventType = "task.completed"
	EventTaskDeleted    EventType = "task.deleted"
	EventTaskAssigned   EventType = "task.assigned"
	EventTaskUnassigned EventType = "task.unassigned"

	EventMilestoneCreated   EventType = "milestone.created"
	EventMilestoneUpdated   EventType = "milestone.updated"
	EventMilestoneCompleted EventType = "milestone.completed"

	EventCommentCreated EventType = "comment.created"

	EventMemberInvited     EventType = "member.invited"
	EventMemberActivated   EventType = "member.activated"
	EventMemberDeactivated EventType = "member.deactivated"
	EventMemberRoleChanged EventType = "member.role_changed"

	EventPing EventType = "webhook.ping"
)

// Event categories: the resource part of the types, as returned by
// [EventType.Category]. A subscription to "<category>.*" receives every type
// of the category.
const (
	CategoryProject   = "project"
	CategoryTask      = "task"
	CategoryMilestone = "milestone"
	CategoryComment   = "comment"
	CategoryMember    = "member"
	CategoryWebhook   = "webhook"
)

// eventTypes lists the catalog in a stable order.
var eventTypes = []EventType{
	EventProjectCreated, EventProjectUpdated, EventProjectArchived, EventProjectDeleted, EventProjectStatusChanged,
	EventTaskCreated, EventTaskUpdated, EventTaskCompleted, EventTaskDeleted, EventTaskAssigned, EventTaskUnassigned,
	EventMilestoneCreated, EventMilestoneUpdated, EventMilestoneCompleted,
	EventCommentCreated,
	EventMemberInvited, EventMemberActivated, EventMemberDeactivated, EventMemberRoleChanged,
	EventPing,
}

// eventSpec is what the package needs to know about one type beyond its
// name. The onplana package describes each type in full.
type eventSpec struct {
	diff     bool // data.diff is required (an update)
	orgLevel bool // project_id may be empty (organization memberships, pings)
}

var eventSpecs = map[EventType]eventSpec{
	EventProjectCreated:       {},
	EventProjectUpdated:       {diff: true},
	EventProjectArchived:      {},
	EventProjectDeleted:       {},
	EventProjectStatusChanged: {diff: true},

	EventTaskCreated:    {},
	EventTaskUpdated:    {diff: true},
	EventTaskCompleted:  {},
	EventTaskDeleted:    {},
	EventTaskAssigned:   {},
	EventTaskUnassigned: {},

	EventMilestoneCreated:   {},
	EventMilestoneUpdated:   {diff: true},
	EventMilestoneCompleted: {},

	EventCommentCreated: {},

	EventMemberInvited:     {orgLevel: true},
	EventMemberActivated:   {orgLevel: true},
	EventMemberDeactivated: {orgLevel: true},
	EventMemberRoleChanged: {orgLevel: true, diff: true},

	EventPing: {orgLevel: true},
}

// Known reports whether t is a type of the catalog.
func (t EventType) Known() bool {
	_, ok := eventSpecs[t]
	return ok
}

// Category returns the resource part of the type: "task" for "task.updated".
// For a type without a dot it returns the whole type.
func (t EventType) Category() string { return eventpattern.Category(string(t)) }

// HasDiff reports whether events of type t are updates that carry
// data.diff (the onplana package's Diff builds one).
func (t EventType) HasDiff() bool { return eventSpecs[t].diff }

// ProjectScoped reports whether events of type t always belong to a project
// and carry a non-empty project_id. Member events (organization or project
// memberships) and webhook.ping are not project-scoped; neither is an
// unknown type.
func (t EventType) ProjectScoped() bool {
	s, ok := eventSpecs[t]
	return ok && !s.orgLevel
}
