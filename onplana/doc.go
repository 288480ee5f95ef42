// Package onplana is the domain model of Onplana's webhook events: the
// resources an event describes, the payload of each category of event, and
// the catalog of event types with their JSON Schemas and sample envelopes.
//
// Package [github.com/onplana/webhook] is the machinery that sends and
// receives the events (the envelope, signatures, the Dispatcher and the
// Receiver) and holds the [webhook.EventType] constants. This package
// builds on it; it never needs this one.
//
// # Payloads
//
// The Data of an event is the payload type of its category:
// [ProjectEventData], [TaskEventData], [MilestoneEventData],
// [CommentEventData] or [MemberEventData] ([PingEventData] for the
// test ping). Each holds the resource in its full current state ([Project],
// [Task], [Milestone], [Comment] or [Member]), the [Actor] who caused the
// event when known, and the [Changes] of an update. A receiver registers a
// typed handler per event type on a [webhook.Router] with the On… functions
// ([OnTaskUpdated], or [OnTask] for the whole category), which decode Data
// into the payload type:
//
//	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
//		…
//	})
//
// or decodes it itself with [webhook.Event.DecodeData]. The payload types
// decode themselves in one pass, with the result encoding/json would give.
// A sender builds Data from the same types with [webhook.NewEvent].
// Enumerations such as [TaskStatus] and [Role] are string types with a
// constant per value and a Valid method; [Role.AtLeast] orders roles.
//
// # Diffs
//
// [Diff] compares a resource before and after a change and returns the
// [Changes] that update events carry in data.diff: each changed top-level
// field, by its JSON name, with its value before and after. On the
// receiving side, [ChangeOf] decodes one field's values into a Go type,
// [Changes.Field] and [Changes.All] give them raw, and [Changes.Decode]
// fills two values of the resource type with every changed field. A
// Changes keeps the diff's JSON and decodes only the fields asked for.
//
// # Catalog
//
// [Catalog] lists every event type with its category, a description,
// whether it carries a diff and a project, the JSON Schema (draft 2020-12)
// of its whole envelope and a sample envelope; [LookupEvent] returns one
// type's entry. The schemas are closed: they describe exactly what this
// version sends, so that a test catches a misspelled field. The module's
// testdata directory holds the same schemas and samples for readers outside
// Go, and the webhook command prints them (webhook catalog TYPE).
//
// [Validator] checks an event against its type's schema for the sender:
// set as webhook.Config.Validator (and pgstore's, for PublishTx), it makes
// Publish refuse what the catalog forbids, so that the typed handlers of
// the receiving side never get it.
package onplana
