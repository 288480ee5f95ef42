package onplana_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// A receiver registers a typed handler per type or category on a
// webhook.Router, which decodes Data into the payload type of the event's
// category. Here the events are the catalog's samples; a receiver's
// Router sits behind webhook.NewHandler.
func Example() {
	r := webhook.NewRouter()
	onplana.OnTask(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		fmt.Printf("%s: %q is %s\n", e.Type, data.Task.Title, data.Task.Status)
		return nil
	})
	onplana.OnMemberInvited(r, func(ctx context.Context, e *webhook.Event, data *onplana.MemberEventData) error {
		fmt.Printf("%s: %s is %s, %s\n", e.Type, data.Member.Email, data.Member.Role, data.Member.Status)
		return nil
	})
	r.Fallback(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		fmt.Printf("%s: not handled\n", e.Type)
		return nil
	}))
	for _, t := range []webhook.EventType{webhook.EventTaskCompleted, webhook.EventMemberInvited, webhook.EventPing} {
		info, _ := onplana.LookupEvent(t)
		e, err := webhook.ParseEvent(info.Sample) // as a Receiver does with a verified body
		if err != nil {
			log.Fatal(err)
		}
		if err := r.HandleEvent(context.Background(), e, info.Sample); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// task.completed: "Migrate the pricing page to the new CMS" is done
	// member.invited: priya.nair@acme.example is MEMBER, invited
	// webhook.ping: not handled
}

// A sender builds an event's Data from the payload types; a Dispatcher's
// Publish then sends the event to every matching subscription.
func Example_publish() {
	now := time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)
	task := onplana.Task{
		ID: "task_8f3k2m", ProjectID: "proj_xyz789", Title: "Migrate the pricing page",
		Status: onplana.TaskStatusTodo, Priority: onplana.TaskPriorityHigh,
		URL: "https://app.onplana.com/org_abc123/tasks/task_8f3k2m", CreatedAt: now, UpdatedAt: now,
	}
	actor := onplana.Actor{Type: onplana.ActorIntegration, ID: "int_jira7", Name: "Jira sync"}
	e, err := webhook.NewEvent(webhook.EventTaskCreated, "org_abc123", task.ProjectID,
		onplana.TaskEventData{Task: task, Actor: &actor})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(e.Data))
	// Output:
	// {"task":{"id":"task_8f3k2m","project_id":"proj_xyz789","title":"Migrate the pricing page","status":"todo","priority":"high","assignee_ids":[],"url":"https://app.onplana.com/org_abc123/tasks/task_8f3k2m","created_at":"2026-06-27T09:15:23Z","updated_at":"2026-06-27T09:15:23Z"},"actor":{"type":"integration","id":"int_jira7","name":"Jira sync"}}
}

// Roles are ordered; the manage package allows managing subscriptions to
// "ADMIN and above".
func ExampleRole_AtLeast() {
	for _, r := range []onplana.Role{onplana.RoleOwner, onplana.RoleAdmin, onplana.RoleMember, "SUPERUSER"} {
		fmt.Println(r, r.AtLeast(onplana.RoleAdmin))
	}
	// Output:
	// OWNER true
	// ADMIN true
	// MEMBER false
	// SUPERUSER false
}

// Fields lists the changed fields of an update in a stable order.
func ExampleChanges_Fields() {
	info, _ := onplana.LookupEvent(webhook.EventTaskUpdated)
	var e webhook.Event
	if err := json.Unmarshal(info.Sample, &e); err != nil {
		log.Fatal(err)
	}
	var data onplana.TaskEventData
	if err := e.DecodeData(&data); err != nil {
		log.Fatal(err)
	}
	fmt.Println(data.Diff.Fields())
	// Output:
	// [due_date priority status]
}

// A sender builds the diff of a task.updated event from the task before and
// after the change; a receiver reads it to react to due date changes only.
func ExampleDiff() {
	before := onplana.Task{
		ID: "task_8f3k2m", ProjectID: "proj_xyz789", Title: "Migrate the pricing page",
		Status: onplana.TaskStatusInProgress, Priority: onplana.TaskPriorityHigh,
		DueDate: "2026-07-01",
	}
	after := before
	after.Status = onplana.TaskStatusBlocked
	after.DueDate = "2026-07-03"

	diff, err := onplana.Diff(before, after)
	if err != nil {
		log.Fatal(err)
	}
	data := onplana.TaskEventData{Task: after, Diff: diff}
	body, err := json.Marshal(data.Diff)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))

	// Receiver side: decode one field's new value.
	if change, ok := diff.Field("due_date"); ok {
		var due string
		if err := json.Unmarshal(change.After, &due); err != nil {
			log.Fatal(err)
		}
		fmt.Println("new due date:", due)
	}
	// Output:
	// {"due_date":{"before":"2026-07-01","after":"2026-07-03"},"status":{"before":"in_progress","after":"blocked"}}
	// new due date: 2026-07-03
}

// The catalog lists every event type with its category; update types carry
// a diff.
func ExampleCatalog() {
	for _, info := range onplana.Catalog() {
		if info.Category != webhook.CategoryTask && info.Category != webhook.CategoryWebhook {
			continue
		}
		diff := ""
		if info.HasDiff {
			diff = " (diff)"
		}
		fmt.Printf("%-16s %s%s\n", info.Type, info.Description, diff)
	}
	fmt.Println(len(onplana.Catalog()), "event types")
	// Output:
	// task.created     A task was created in a project.
	// task.updated     A task's fields changed; data.diff lists them with before and after values. (diff)
	// task.completed   A task was marked done.
	// task.deleted     A task was deleted; data.task is its last state.
	// task.assigned    A user was assigned to a task; data.assignee_id names them.
	// task.unassigned  A user was removed from a task's assignees; data.assignee_id names them.
	// webhook.ping     A test ping, sent when a subscription is created and on demand.
	// 20 event types
}

// LookupEvent gives the sample envelope of a type, which decodes into Event
// and the typed payload of its category.
func ExampleLookupEvent() {
	info, ok := onplana.LookupEvent(webhook.EventProjectStatusChanged)
	if !ok {
		log.Fatal("not in the catalog")
	}
	var e webhook.Event
	if err := json.Unmarshal(info.Sample, &e); err != nil {
		log.Fatal(err)
	}
	var data onplana.ProjectEventData
	if err := e.DecodeData(&data); err != nil {
		log.Fatal(err)
	}
	status, _ := data.Diff.Field("status")
	var was onplana.ProjectStatus
	if err := json.Unmarshal(status.Before, &was); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %q went from %s to %s\n", e.Type, data.Project.Name, was, data.Project.Status)
	// Output:
	// project.status_changed: "Website Relaunch" went from on_track to at_risk
}
