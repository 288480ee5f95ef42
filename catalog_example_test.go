package webhook_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/onplana/webhook"
)

// A sender builds the diff of a task.updated event from the task before and
// after the change; a receiver reads it to react to due date changes only.
func ExampleDiff() {
	before := webhook.Task{
		ID: "task_8f3k2m", ProjectID: "proj_xyz789", Title: "Migrate the pricing page",
		Status: webhook.TaskStatusInProgress, Priority: webhook.TaskPriorityHigh,
		DueDate: "2026-07-01",
	}
	after := before
	after.Status = webhook.TaskStatusBlocked
	after.DueDate = "2026-07-03"

	diff, err := webhook.Diff(before, after)
	if err != nil {
		log.Fatal(err)
	}
	data := webhook.TaskEventData{Task: after, Diff: diff}
	body, err := json.Marshal(data.Diff)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))

	// Receiver side: decode one field's new value.
	if change, ok := diff["due_date"]; ok {
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
	for _, info := range webhook.Catalog() {
		if info.Category != webhook.CategoryTask && info.Category != webhook.CategoryWebhook {
			continue
		}
		diff := ""
		if info.HasDiff {
			diff = " (diff)"
		}
		fmt.Printf("%-16s %s%s\n", info.Type, info.Description, diff)
	}
	fmt.Println(len(webhook.Catalog()), "event types")
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
	info, ok := webhook.LookupEvent(webhook.EventProjectStatusChanged)
	if !ok {
		log.Fatal("not in the catalog")
	}
	var e webhook.Event
	if err := json.Unmarshal(info.Sample, &e); err != nil {
		log.Fatal(err)
	}
	var data webhook.ProjectEventData
	if err := e.DecodeData(&data); err != nil {
		log.Fatal(err)
	}
	var was webhook.ProjectStatus
	if err := json.Unmarshal(data.Diff["status"].Before, &was); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %q went from %s to %s\n", e.Type, data.Project.Name, was, data.Project.Status)
	// Output:
	// project.status_changed: "Website Relaunch" went from on_track to at_risk
}
