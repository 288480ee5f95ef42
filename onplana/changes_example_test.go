package onplana_test

import (
	"fmt"
	"log"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// sampleTaskUpdate returns the data of the catalog's task.updated sample.
func sampleTaskUpdate() onplana.TaskEventData {
	info, _ := onplana.LookupEvent(webhook.EventTaskUpdated)
	e, err := webhook.ParseEvent(info.Sample)
	if err != nil {
		log.Fatal(err)
	}
	var data onplana.TaskEventData
	if err := e.DecodeData(&data); err != nil {
		log.Fatal(err)
	}
	return data
}

// One field of a diff, decoded into the type of that field.
func ExampleChangeOf() {
	data := sampleTaskUpdate()

	before, after, changed, err := onplana.ChangeOf[onplana.TaskStatus](data.Diff, "status")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(changed, before, "→", after)

	_, _, changed, _ = onplana.ChangeOf[string](data.Diff, "title")
	fmt.Println(changed)
	// Output:
	// true in_progress → blocked
	// false
}

// The whole diff at once, into two values of the resource type: only the
// changed fields are set.
func ExampleChanges_Decode() {
	data := sampleTaskUpdate()

	var was, now onplana.Task
	if err := data.Diff.Decode(&was, &now); err != nil {
		log.Fatal(err)
	}
	fmt.Println(data.Diff.Fields())
	fmt.Printf("due %s → %s, priority %s → %s\n", was.DueDate, now.DueDate, was.Priority, now.Priority)
	// Output:
	// [due_date priority status]
	// due 2026-07-01 → 2026-07-03, priority high → urgent
}
