package onplana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/onplana/webhook"
)

// EventInfo describes one type of the event catalog.
type EventInfo struct {
	// Type is the event type, such as "task.updated".
	Type webhook.EventType `json:"type"`
	// Category is the resource the type is about: one of the
	// webhook.Category… constants, the part of Type before the dot.
	Category string `json:"category"`
	// Description says in one line when the event fires.
	Description string `json:"description"`
	// HasDiff reports an update type, whose data carries "diff".
	HasDiff bool `json:"has_diff"`
	// ProjectScoped reports a type whose envelope always has a project_id.
	ProjectScoped bool `json:"project_scoped"`
	// Schema is the JSON Schema (draft 2020-12) of the whole delivery
	// envelope of the type, self-contained (resource definitions under
	// $defs) and indented. It is closed: properties not in this version of
	// the catalog are rejected.
	Schema json.RawMessage `json:"schema"`
	// Sample is a realistic envelope of the type, indented, that validates
	// against Schema. Its ids and timestamps are fixed, so it is stable
	// across releases; replace them before sending it for real.
	Sample json.RawMessage `json:"sample"`
}

// Catalog returns every event type of the catalog, in the order of the
// [webhook.EventType] constants: project, task, milestone, comment, member,
// webhook.
// Each call returns fresh copies that the caller may modify. It is safe for
// concurrent use.
func Catalog() []EventInfo {
	all := catalog()
	out := make([]EventInfo, len(all))
	for i, info := range all {
		out[i] = info.clone()
	}
	return out
}

// LookupEvent returns the catalog entry of t, and false if t is not a type
// of the catalog. It is safe for concurrent use.
func LookupEvent(t webhook.EventType) (EventInfo, bool) {
	for _, info := range catalog() {
		if info.Type == t {
			return info.clone(), true
		}
	}
	return EventInfo{}, false
}

func (e EventInfo) clone() EventInfo {
	e.Schema = bytes.Clone(e.Schema)
	e.Sample = bytes.Clone(e.Sample)
	return e
}

// entries is the catalog in the order of the webhook.EventType constants,
// with what the catalog says about each type beyond what the EventType
// methods (HasDiff, ProjectScoped) report.
var entries = []struct {
	typ         webhook.EventType
	description string
	// diffMust lists the fields that data.diff must name, on a type with
	// a diff.
	diffMust []string
}{
	{webhook.EventProjectCreated, "A project was created.", nil},
	{webhook.EventProjectUpdated, "A project's fields changed; data.diff lists them with before and after values.", nil},
	{webhook.EventProjectArchived, "A project was archived: read-only, hidden from active lists.", nil},
	{webhook.EventProjectDeleted, "A project was deleted; data.project is its last state.", nil},
	{webhook.EventProjectStatusChanged, "A project's health status changed between on_track, at_risk and off_track.", []string{"status"}},

	{webhook.EventTaskCreated, "A task was created in a project.", nil},
	{webhook.EventTaskUpdated, "A task's fields changed; data.diff lists them with before and after values.", nil},
	{webhook.EventTaskCompleted, "A task was marked done.", nil},
	{webhook.EventTaskDeleted, "A task was deleted; data.task is its last state.", nil},
	{webhook.EventTaskAssigned, "A user was assigned to a task; data.assignee_id names them.", nil},
	{webhook.EventTaskUnassigned, "A user was removed from a task's assignees; data.assignee_id names them.", nil},

	{webhook.EventMilestoneCreated, "A milestone was created in a project.", nil},
	{webhook.EventMilestoneUpdated, "A milestone's fields changed, such as its due date; data.diff lists them.", nil},
	{webhook.EventMilestoneCompleted, "A milestone was reached and marked completed.", nil},

	{webhook.EventCommentCreated, "A comment was added to a task or a project.", nil},

	{webhook.EventMemberInvited, "A user was invited to the organization or a project.", nil},
	{webhook.EventMemberActivated, "An invited user accepted and became an active member.", nil},
	{webhook.EventMemberDeactivated, "A member was deactivated and lost access.", nil},
	{webhook.EventMemberRoleChanged, "A member's role changed; data.diff holds the role before and after.", []string{"role"}},

	{webhook.EventPing, "A test ping, sent when a subscription is created and on demand.", nil},
}

// catalog builds the entries once. The schemas and samples are static data
// whose encoding cannot fail at run time; the tests build them.
var catalog = sync.OnceValue(func() []EventInfo {
	infos := make([]EventInfo, len(entries))
	for i, e := range entries {
		t := e.typ
		schema, err := json.MarshalIndent(envelopeSchema(t, e.description, e.diffMust), "", "  ")
		if err != nil {
			panic(fmt.Sprintf("onplana: catalog schema of %s: %v", t, err))
		}
		sample, err := sampleEnvelope(t)
		if err != nil {
			panic(fmt.Sprintf("onplana: catalog sample of %s: %v", t, err))
		}
		infos[i] = EventInfo{
			Type:          t,
			Category:      t.Category(),
			Description:   e.description,
			HasDiff:       t.HasDiff(),
			ProjectScoped: t.ProjectScoped(),
			Schema:        schema,
			Sample:        sample,
		}
	}
	return infos
})
