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

// Event categories: the resource part of the types, as returned by
// EventType.Category and in EventInfo.Category. A subscription to
// "<category>.*" receives every type of the category.
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

// eventSpec is what the catalog says about one type beyond its name.
type eventSpec struct {
	description string
	// diff: data.diff is required, naming at least the fields in diffMust.
	diff     bool
	diffMust []string
	// orgLevel: project_id may be empty (organization memberships, pings).
	orgLevel bool
}

var eventSpecs = map[EventType]eventSpec{
	EventProjectCreated:       {description: "A project was created."},
	EventProjectUpdated:       {description: "A project's fields changed; data.diff lists them with before and after values.", diff: true},
	EventProjectArchived:      {description: "A project was archived: read-only, hidden from active lists."},
	EventProjectDeleted:       {description: "A project was deleted; data.project is its last state."},
	EventProjectStatusChanged: {description: "A project's health status changed between on_track, at_risk and off_track.", diff: true, diffMust: []string{"status"}},

	EventTaskCreated:    {description: "A task was created in a project."},
	EventTaskUpdated:    {description: "A task's fields changed; data.diff lists them with before and after values.", diff: true},
	EventTaskCompleted:  {description: "A task was marked done."},
	EventTaskDeleted:    {description: "A task was deleted; data.task is its last state."},
	EventTaskAssigned:   {description: "A user was assigned to a task; data.assignee_id names them."},
	EventTaskUnassigned: {description: "A user was removed from a task's assignees; data.assignee_id names them."},

	EventMilestoneCreated:   {description: "A milestone was created in a project."},
	EventMilestoneUpdated:   {description: "A milestone's fields changed, such as its due date; data.diff lists them.", diff: true},
	EventMilestoneCompleted: {description: "A milestone was reached and marked completed."},

	EventCommentCreated: {description: "A comment was added to a task or a project."},

	EventMemberInvited:     {description: "A user was invited to the organization or a project.", orgLevel: true},
	EventMemberActivated:   {description: "An invited user accepted and became an active member.", orgLevel: true},
	EventMemberDeactivated: {description: "A member was deactivated and lost access.", orgLevel: true},
	EventMemberRoleChanged: {description: "A member's role changed; data.diff holds the role before and after.", orgLevel: true, diff: true, diffMust: []string{"role"}},

	EventPing: {description: "A test ping, sent when a subscription is created and on demand.", orgLevel: true},
}

// Known reports whether t is a type of the catalog.
func (t EventType) Known() bool {
	_, ok := eventSpecs[t]
	return ok
}

// Category returns the resource part of the type: "task" for "task.updated".
// For a type without a dot it returns the whole type.
func (t EventType) Category() string {
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			return string(t[:i])
		}
	}
	return string(t)
}

// HasDiff reports whether events of type t are updates that carry
// data.diff (see Diff).
func (t EventType) HasDiff() bool { return eventSpecs[t].diff }

// ProjectScoped reports whether events of type t always belong to a project
// and carry a non-empty project_id. Member events (organization or project
// memberships) and webhook.ping are not project-scoped; neither is an
// unknown type.
func (t EventType) ProjectScoped() bool {
	s, ok := eventSpecs[t]
	return ok && !s.orgLevel
}
