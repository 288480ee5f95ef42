package webhook

// EventType names an event in the catalog, in the form resource.action.
type EventType string

// The event catalog. Catalog describes each type.
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

// eventTypes lists the catalog in a stable order.
var eventTypes = []EventType{
	EventProjectCreated, EventProjectUpdated, EventProjectArchived, EventProjectDeleted, EventProjectStatusChanged,
	EventTaskCreated, EventTaskUpdated, EventTaskCompleted, EventTaskDeleted, EventTaskAssigned, EventTaskUnassigned,
	EventMilestoneCreated, EventMilestoneUpdated, EventMilestoneCompleted,
	EventCommentCreated,
	EventMemberInvited, EventMemberActivated, EventMemberDeactivated, EventMemberRoleChanged,
	EventPing,
}

// Known reports whether t is a type of the catalog.
func (t EventType) Known() bool {
	for _, k := range eventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Category returns the resource part of the type: "task" for "task.updated".
func (t EventType) Category() string {
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			return string(t[:i])
		}
	}
	return string(t)
}
