package onplana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onplana/webhook"
)

// This file builds the JSON Schema (draft 2020-12) of each event type's whole
// envelope. The schemas are Go values rather than files so that they are part
// of the compiled package (the CLI prints them) and cannot drift from the
// types: tests check every schema's properties against the struct fields and
// validate the golden samples against them.
//
// The schemas are closed (additionalProperties false): they describe exactly
// what this version of the library sends, which is what makes them useful to
// catch a misspelled field in a test. Later versions may add optional fields;
// a receiver that validates production traffic should expect that.

// schemaDialect is the JSON Schema version of every schema of the catalog.
const schemaDialect = "https://json-schema.org/draft/2020-12/schema"

// jsonObject is a JSON object that keeps its keys in insertion order, so
// that the schemas read top-down (type, required, properties) when printed.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

// obj builds a jsonObject from alternating keys and values. It is only
// called with literal arguments when the schemas are built.
func obj(kv ...any) jsonObject {
	o := make(jsonObject, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, jsonMember{key: kv[i].(string), value: kv[i+1]})
	}
	return o
}

// with returns a copy of o with more members appended.
func (o jsonObject) with(kv ...any) jsonObject {
	return append(append(jsonObject{}, o...), obj(kv...)...)
}

// get returns the value of key, or nil.
func (o jsonObject) get(key string) any {
	for _, m := range o {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// keys returns the keys in order.
func (o jsonObject) keys() []string {
	ks := make([]string, len(o))
	for i, m := range o {
		ks[i] = m.key
	}
	return ks
}

// MarshalJSON encodes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("onplana: schema member %q: %w", m.key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Building blocks.

func str(description string) jsonObject {
	return obj("type", "string", "description", description)
}

func nonEmpty(description string) jsonObject {
	return obj("type", "string", "minLength", 1, "description", description)
}

func idOf(description string) jsonObject { return nonEmpty(description) }

func dateTime(description string) jsonObject {
	return obj("type", "string", "format", "date-time", "description", description)
}

func date(description string) jsonObject {
	return obj("type", "string", "format", "date", "description", description)
}

func uri(description string) jsonObject {
	return obj("type", "string", "format", "uri", "description", description)
}

func enum[T ~string](description string, values ...T) jsonObject {
	return obj("type", "string", "enum", values, "description", description)
}

func idList(description string) jsonObject {
	return obj("type", "array", "items", obj("type", "string", "minLength", 1), "description", description)
}

func ref(def string) jsonObject { return obj("$ref", "#/$defs/"+def) }

// closed is an object schema with the given required fields and properties
// and no other property.
func closed(description string, required []string, properties jsonObject) jsonObject {
	return obj("type", "object", "description", description,
		"required", required, "properties", properties, "additionalProperties", false)
}

// Resource definitions, keyed by the name they have under data and in $defs.

func projectSchema() jsonObject {
	return closed("The project, in its full current state.",
		[]string{"id", "organization_id", "name", "status", "owner_id", "url", "created_at", "updated_at"},
		obj(
			"id", idOf("Project id."),
			"organization_id", idOf("Organization the project belongs to."),
			"name", nonEmpty("Project name."),
			"description", str("Project description, Markdown."),
			"status", enum("Health of the project.", ProjectStatusOnTrack, ProjectStatusAtRisk, ProjectStatusOffTrack),
			"owner_id", idOf("User id of the project owner."),
			"start_date", date("Planned start date."),
			"due_date", date("Planned end date."),
			"url", uri("The project in the web app."),
			"archived_at", dateTime("When the project was archived; absent while active."),
			"deleted_at", dateTime("When the project was deleted; absent unless deleted."),
			"created_at", dateTime("When the project was created."),
			"updated_at", dateTime("When the project last changed."),
		))
}

func taskSchema() jsonObject {
	return closed("The task, in its full current state.",
		[]string{"id", "project_id", "title", "status", "priority", "assignee_ids", "url", "created_at", "updated_at"},
		obj(
			"id", idOf("Task id."),
			"project_id", idOf("Project the task belongs to."),
			"milestone_id", idOf("Milestone the task counts toward, if any."),
			"title", nonEmpty("Task title."),
			"description", str("Task description, Markdown."),
			"status", enum("Workflow status.", TaskStatusTodo, TaskStatusInProgress, TaskStatusBlocked, TaskStatusInReview, TaskStatusDone, TaskStatusCanceled),
			"priority", enum("Priority.", TaskPriorityLow, TaskPriorityMedium, TaskPriorityHigh, TaskPriorityUrgent),
			"assignee_ids", idList("User ids of the assignees; empty when unassigned.").with("uniqueItems", true),
			"reporter_id", idOf("User id of who created the task."),
			"due_date", date("Due date."),
			"url", uri("The task in the web app."),
			"completed_at", dateTime("When the task was marked done; absent otherwise."),
			"deleted_at", dateTime("When the task was deleted; absent unless deleted."),
			"created_at", dateTime("When the task was created."),
			"updated_at", dateTime("When the task last changed."),
		))
}

func milestoneSchema() jsonObject {
	return closed("The milestone, in its full current state.",
		[]string{"id", "project_id", "name", "status", "url", "created_at", "updated_at"},
		obj(
			"id", idOf("Milestone id."),
			"project_id", idOf("Project the milestone belongs to."),
			"name", nonEmpty("Milestone name."),
			"description", str("Milestone description, Markdown."),
			"status", enum("Whether the milestone is still ahead or reached.", MilestoneStatusOpen, MilestoneStatusCompleted),
			"due_date", date("Target date."),
			"url", uri("The milestone in the web app."),
			"completed_at", dateTime("When the milestone was completed; absent otherwise."),
			"created_at", dateTime("When the milestone was created."),
			"updated_at", dateTime("When the milestone last changed."),
		))
}

func commentSchema() jsonObject {
	return closed("The comment.",
		[]string{"id", "project_id", "target_type", "target_id", "author_id", "body", "url", "created_at", "updated_at"},
		obj(
			"id", idOf("Comment id."),
			"project_id", idOf("Project of the commented task or project."),
			"target_type", enum("What the comment is on.", CommentOnTask, CommentOnProject),
			"target_id", idOf("Id of the task or project commented on."),
			"author_id", idOf("User id of the author."),
			"body", nonEmpty("Comment text, Markdown."),
			"mention_ids", idList("User ids mentioned in the body."),
			"url", uri("The comment in the web app."),
			"created_at", dateTime("When the comment was posted."),
			"updated_at", dateTime("When the comment was last edited."),
		))
}

func memberSchema() jsonObject {
	return closed("The membership, in its full current state.",
		[]string{"id", "user_id", "organization_id", "scope", "email", "role", "status", "created_at", "updated_at"},
		obj(
			"id", idOf("Membership id."),
			"user_id", idOf("User id."),
			"organization_id", idOf("Organization of the membership."),
			"scope", enum("Organization membership or membership of one project.", ScopeOrganization, ScopeProject),
			"project_id", idOf("The project, for a project membership; absent otherwise."),
			"email", obj("type", "string", "format", "email", "description", "The user's email address."),
			"name", str("The user's display name; absent until an invited user signs up."),
			"role", enum("Role in the organization or project, highest first.", RoleOwner, RoleAdmin, RoleMember, RoleViewer),
			"status", enum("State of the membership.", MemberStatusInvited, MemberStatusActive, MemberStatusDeactivated),
			"invited_by_id", idOf("User id of who sent the invitation."),
			"invited_at", dateTime("When the invitation was sent."),
			"activated_at", dateTime("When the invitation was accepted."),
			"deactivated_at", dateTime("When the member was deactivated."),
			"created_at", dateTime("When the membership was created."),
			"updated_at", dateTime("When the membership last changed."),
		)).with(
		// A project membership names its project; an organization one does not.
		"if", obj("properties", obj("scope", obj("const", ScopeProject))),
		"then", obj("required", []string{"project_id"}),
		"else", obj("not", obj("required", []string{"project_id"})),
	)
}

func actorSchema() jsonObject {
	return closed("Who caused the event.", []string{"type", "id"}, obj(
		"type", enum("Kind of actor.", ActorUser, ActorIntegration, ActorSystem),
		"id", idOf("User, integration or system id."),
		"name", str("Display name."),
		"email", obj("type", "string", "format", "email", "description", "Email address of a user actor."),
	))
}

func webhookRefSchema() jsonObject {
	return closed("The subscription pinged (its URL and secrets are never included).",
		[]string{"id", "event_types"},
		obj(
			"id", idOf("Subscription id."),
			"event_types", idList("Event types the subscription receives, including wildcards such as task.*."),
			"description", str("The subscription's description."),
		))
}

func changeSchema() jsonObject {
	return closed("One changed field: its value before and after. null stands for an absent field.",
		[]string{"before", "after"},
		obj("before", obj("description", "Value before the change."),
			"after", obj("description", "Value after the change.")))
}

// resourceSchema returns, for a category, the name of its resource under
// data and in $defs, and the resource's schema.
func resourceSchema(category string) (name string, schema jsonObject) {
	switch category {
	case webhook.CategoryProject:
		return "project", projectSchema()
	case webhook.CategoryTask:
		return "task", taskSchema()
	case webhook.CategoryMilestone:
		return "milestone", milestoneSchema()
	case webhook.CategoryComment:
		return "comment", commentSchema()
	case webhook.CategoryMember:
		return "member", memberSchema()
	case webhook.CategoryWebhook:
		return "webhook", webhookRefSchema()
	}
	return "", nil
}

// stateConstraints narrows the resource for types that imply a state: a
// task.completed task is done, a project.archived project has archived_at.
func stateConstraints(t webhook.EventType) jsonObject {
	state := func(required []string, props ...any) jsonObject {
		o := obj("required", required)
		if len(props) > 0 {
			o = o.with("properties", obj(props...))
		}
		return o
	}
	switch t {
	case webhook.EventProjectArchived:
		return state([]string{"archived_at"})
	case webhook.EventProjectDeleted:
		return state([]string{"deleted_at"})
	case webhook.EventTaskCompleted:
		return state([]string{"completed_at"}, "status", obj("const", TaskStatusDone))
	case webhook.EventTaskDeleted:
		return state([]string{"deleted_at"})
	case webhook.EventMilestoneCompleted:
		return state([]string{"completed_at"}, "status", obj("const", MilestoneStatusCompleted))
	case webhook.EventMemberInvited:
		return state([]string{"invited_at"}, "status", obj("const", MemberStatusInvited))
	case webhook.EventMemberActivated:
		return state([]string{"activated_at"}, "status", obj("const", MemberStatusActive))
	case webhook.EventMemberDeactivated:
		return state([]string{"deactivated_at"}, "status", obj("const", MemberStatusDeactivated))
	}
	return nil
}

// envelopeSchema returns the schema of the whole envelope of type t, which
// must be known, with its description and the fields its diff must name.
func envelopeSchema(t webhook.EventType, description string, diffMust []string) jsonObject {
	resName, resSchema := resourceSchema(t.Category())

	// data
	resource := ref(resName)
	if c := stateConstraints(t); c != nil {
		resource = append(resource, c...)
	}
	dataRequired := []string{resName}
	dataProps := obj(resName, resource)
	defs := obj(resName, resSchema)
	if t.HasDiff() {
		fields := resSchema.get("properties").(jsonObject).keys()
		diff := obj("type", "object",
			"description", "The changed fields of the "+resName+", by name, with their values before and after.",
			"minProperties", 1)
		if len(diffMust) > 0 {
			diff = diff.with("required", diffMust)
		}
		diff = diff.with("propertyNames", obj("enum", fields), "additionalProperties", ref("change"))
		dataRequired = append(dataRequired, "diff")
		dataProps = dataProps.with("diff", diff)
		defs = defs.with("change", changeSchema())
	}
	if t == webhook.EventTaskAssigned || t == webhook.EventTaskUnassigned {
		dataRequired = append(dataRequired, "assignee_id")
		dataProps = dataProps.with("assignee_id", idOf("User id of the assignee added or removed."))
	}
	if t == webhook.EventPing {
		dataRequired = append(dataRequired, "message")
		dataProps = dataProps.with("message", str("A human-readable note."))
	} else {
		dataProps = dataProps.with("actor", ref("actor"))
		defs = defs.with("actor", actorSchema())
	}
	parts := []string{"the " + resName + " under its name"}
	for _, k := range dataProps.keys()[1:] {
		parts = append(parts, map[string]string{
			"diff":        "the changed fields (diff)",
			"assignee_id": "the assignee added or removed (assignee_id)",
			"message":     "a message",
			"actor":       "optionally who caused it (actor)",
		}[k])
	}
	list := parts[0]
	if n := len(parts); n > 1 {
		list = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	data := closed("The event payload: "+list+".", dataRequired, dataProps)

	// envelope
	required := []string{"delivery_id", "event_id", "event", "timestamp", "organization_id"}
	projectID := obj("type", "string", "description", "Project the event belongs to; absent or empty for organization-level events.")
	if t.ProjectScoped() {
		required = append(required, "project_id")
		projectID = idOf("Project the event belongs to.")
	}
	required = append(required, "data")
	s := obj(
		"$schema", schemaDialect,
		"title", string(t),
		"description", description,
		"type", "object",
		"required", required,
		"properties", obj(
			"delivery_id", obj("type", "string", "pattern", "^dlv_[0-9A-Za-z_-]+$",
				"description", "Unique per event and subscription, identical on every retry: deduplicate on it."),
			"event_id", obj("type", "string", "pattern", "^evt_[0-9A-Za-z_-]+$",
				"description", "Unique per event, the same for every subscription."),
			"event", obj("const", t, "description", "The event type."),
			"timestamp", dateTime("When the event happened, UTC."),
			"organization_id", idOf("Organization the event belongs to."),
			"project_id", projectID,
			"data", data,
		),
		"additionalProperties", false,
	)
	if t.Category() == webhook.CategoryMember {
		// The envelope names the project exactly for project memberships.
		s = s.with(
			"if", obj("properties", obj("data", obj("properties", obj("member",
				obj("properties", obj("scope", obj("const", ScopeProject))))))),
			"then", obj("required", []string{"project_id"}, "properties", obj("project_id", obj("minLength", 1))),
			"else", obj("properties", obj("project_id", obj("maxLength", 0))),
		)
	}
	return s.with("$defs", defs)
}
