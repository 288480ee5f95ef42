package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// labelPrefix starts the label linking a ticket to its task:
// "onplana-task:task_8f3k2m".
const labelPrefix = "onplana-task:"

// Status and priority names on each side. The reverse maps are built from
// these, so the two directions cannot drift apart.
var (
	jiraStatus = map[onplana.TaskStatus]string{
		onplana.TaskStatusTodo:       "To Do",
		onplana.TaskStatusInProgress: "In Progress",
		onplana.TaskStatusBlocked:    "Blocked",
		onplana.TaskStatusInReview:   "In Review",
		onplana.TaskStatusDone:       "Done",
		onplana.TaskStatusCanceled:   "Won't Do",
	}
	jiraPriority = map[onplana.TaskPriority]string{
		onplana.TaskPriorityLow:    "Low",
		onplana.TaskPriorityMedium: "Medium",
		onplana.TaskPriorityHigh:   "High",
		onplana.TaskPriorityUrgent: "Highest",
	}
	taskStatus   = invert(jiraStatus)
	taskPriority = invert(jiraPriority)
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// syncer mirrors Onplana tasks into tickets. Its handlers, registered by
// routes, are safe for concurrent use.
type syncer struct {
	tickets TicketClient
	// selfActorID is the Onplana actor the reverse direction writes as:
	// task events it caused are skipped, or every change would bounce
	// between the two systems.
	selfActorID string
	log         *slog.Logger
	locks       [64]sync.Mutex // striped by task id: one task syncs at a time
}

// lock serialises the events of one task, so that a task.created and a
// task.updated arriving together cannot both create a ticket.
func (s *syncer) lock(taskID string) func() {
	h := fnv.New32a()
	h.Write([]byte(taskID))
	mu := &s.locks[h.Sum32()%uint32(len(s.locks))]
	mu.Lock()
	return mu.Unlock
}

// routes registers the syncer on r: task.created and task.updated, each
// with its payload decoded. The Router acknowledges every other type.
func (s *syncer) routes(r *webhook.Router) {
	onplana.OnTaskCreated(r, s.sync)
	onplana.OnTaskUpdated(r, s.sync)
}

// acknowledgeUndecodable makes permanent the error of a delivery whose data
// does not decode into its payload type: the same signed bytes never will,
// and the sender would retry them for days. The Receiver logs it and
// answers 200. (By default a Router lets the sender retry, in case the
// receiver is the one to fix.)
func acknowledgeUndecodable(h webhook.EventHandler) webhook.EventHandler {
	return webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		err := h.HandleEvent(ctx, e, body)
		if errors.Is(err, webhook.ErrInvalidEnvelope) {
			return webhook.Permanent(err)
		}
		return err
	})
}

// sync mirrors the task of one event into its ticket. An error answers the
// delivery with a 5xx, so the sender retries it later.
func (s *syncer) sync(ctx context.Context, e *webhook.Event, d *onplana.TaskEventData) error {
	if d.Actor != nil && s.selfActorID != "" && d.Actor.ID == s.selfActorID {
		s.log.InfoContext(ctx, "skipped: our own change coming back", "task_id", d.Task.ID, "delivery_id", e.DeliveryID)
		return nil
	}
	t := d.Task
	defer s.lock(t.ID)()

	ticket, err := s.tickets.FindByLabel(ctx, labelPrefix+t.ID)
	switch {
	case errors.Is(err, ErrNoTicket):
		// Missing: create it from the full current state, whatever the
		// event (the task may predate the sync, or events arrived out of
		// order).
		created, err := s.tickets.CreateTicket(ctx, ticketFields(t))
		if err != nil {
			return fmt.Errorf("create ticket for %s: %w", t.ID, err)
		}
		s.log.InfoContext(ctx, "ticket created", "task_id", t.ID, "ticket", created.Key)
		return nil
	case err != nil:
		return fmt.Errorf("find ticket of %s: %w", t.ID, err)
	}
	if e.Type == webhook.EventTaskCreated {
		return nil // already there: a redelivery, or created by the other side
	}
	u, err := ticketUpdate(d.Diff)
	if err != nil {
		// A diff that does not fit the task never will: acknowledge it.
		return webhook.Permanent(fmt.Errorf("diff of %s: %w", t.ID, err))
	}
	if len(u.Fields) == 0 && u.Status == "" {
		s.log.InfoContext(ctx, "nothing to sync", "task_id", t.ID, "diff", d.Diff.Fields())
		return nil
	}
	if err := s.tickets.UpdateTicket(ctx, ticket.Key, u); err != nil {
		return fmt.Errorf("update ticket %s of %s: %w", ticket.Key, t.ID, err)
	}
	s.log.InfoContext(ctx, "ticket updated", "task_id", t.ID, "ticket", ticket.Key, "fields", d.Diff.Fields())
	return nil
}

// ticketFields is the whole ticket of a task.
func ticketFields(t onplana.Task) TicketFields {
	return TicketFields{
		Summary:     t.Title,
		Description: t.Description,
		DueDate:     t.DueDate,
		Priority:    jiraPriority[t.Priority],
		Status:      jiraStatus[t.Status],
		Labels:      []string{labelPrefix + t.ID},
	}
}

// ticketUpdate maps the fields of a task diff to ticket fields. Fields
// without a counterpart (assignees, which need a user mapping, timestamps)
// are left out: the update carries only what changed and can be mapped.
func ticketUpdate(diff onplana.Changes) (TicketUpdate, error) {
	var now onplana.Task // the changed fields, after the change
	if err := diff.Decode(nil, &now); err != nil {
		return TicketUpdate{}, err
	}
	changed := func(field string) bool { _, ok := diff.Field(field); return ok }
	u := TicketUpdate{Fields: map[string]any{}}
	if changed("title") {
		u.Fields["summary"] = now.Title
	}
	if changed("description") {
		u.Fields["description"] = now.Description
	}
	if changed("due_date") {
		u.Fields["duedate"] = nil // cleared
		if now.DueDate != "" {
			u.Fields["duedate"] = now.DueDate
		}
	}
	if p, ok := jiraPriority[now.Priority]; ok && changed("priority") {
		u.Fields["priority"] = map[string]string{"name": p}
	}
	if changed("status") {
		u.Status = jiraStatus[now.Status]
	}
	return u, nil
}
