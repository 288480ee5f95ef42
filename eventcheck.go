package webhook

import (
	"encoding/json"

	"github.com/onplana/webhook/internal/jsonscan"
)

// An EventValidator checks an event against a catalog before it is
// published: Config.Validator (and pgstore's Config.Validator for
// PublishTx) runs one on every event Publish accepts, after the checks
// this package makes itself (see NewDeliveries), and Publish refuses the
// event with its error. Package onplana's Validator checks the whole
// envelope against the JSON Schema of the event's catalog entry.
//
// ValidateEvent receives the event as Publish will encode it: its ID and
// Timestamp are set (PublishTx may pass them empty, to be filled after),
// its DeliveryID is empty (each delivery gets its own), and Data is valid
// JSON. It must not modify e or keep it, must be safe for concurrent use,
// and should return a *ValidationError naming the offending field as
// Publish does: "ProjectID", or a path under Data such as "Data.task.url".
type EventValidator interface {
	ValidateEvent(e *Event) error
}

// checkPublished checks what an event's catalog entry requires that needs
// no domain model, cheaply enough for every Publish: a project_id on a
// project-scoped type, a data object holding the resource named by the
// type's category (data.task for task.*) as an object with a non-empty
// string "id", and a non-empty data.diff object on an update type. e has
// passed validateEvent and is not a ping. The full JSON Schema of each type
// is checked by an EventValidator such as package onplana's.
func checkPublished(e *Event) error {
	if e.Type.ProjectScoped() && e.ProjectID == "" {
		return &ValidationError{Field: "ProjectID", Reason: "required: " + string(e.Type) + " events belong to a project"}
	}
	name := e.Type.Category()
	var resource, diff []byte
	data := objectScanner{b: e.Data, depth: 1}
	for key, value := range data.members {
		switch string(key) {
		case name:
			if resource != nil {
				return &ValidationError{Field: "Data." + name, Reason: "repeated"}
			}
			resource = value
		case "diff":
			if diff != nil {
				return &ValidationError{Field: "Data.diff", Reason: "repeated"}
			}
			diff = value
		}
	}
	if data.err != nil {
		return data.err
	}
	switch {
	case resource == nil:
		return &ValidationError{Field: "Data." + name, Reason: "required: data holds the " + name + " the event is about"}
	case resource[0] != '{':
		return &ValidationError{Field: "Data." + name, Reason: "must be an object"}
	}
	hasID := false
	res := objectScanner{b: resource, depth: 2}
	for key, value := range res.members {
		if string(key) == "id" {
			hasID = len(value) > len(`""`) && value[0] == '"'
		}
	}
	if res.err != nil {
		return res.err
	}
	if !hasID {
		return &ValidationError{Field: "Data." + name + ".id", Reason: "required: a non-empty string"}
	}
	if !e.Type.HasDiff() {
		return nil
	}
	switch {
	case diff == nil:
		return &ValidationError{Field: "Data.diff", Reason: "required: " + string(e.Type) + " is an update; data.diff lists the changed fields"}
	case diff[0] != '{':
		return &ValidationError{Field: "Data.diff", Reason: "must be an object"}
	}
	changes := objectScanner{b: diff, depth: 2}
	empty := true
	for range changes.members {
		empty = false
		break
	}
	if changes.err != nil {
		return changes.err
	}
	if empty {
		return &ValidationError{Field: "Data.diff", Reason: "must name at least one changed field"}
	}
	return nil
}

// objectScanner reads the members of a JSON object held in b, nested
// depth containers deep inside Data, without decoding their values.
type objectScanner struct {
	b     []byte
	depth int
	err   error // set when b is not a valid object, as far as it was read
}

// members yields the name and raw value of each member, in order. When b
// is not valid JSON it stops and sets s.err to a *ValidationError for
// Data, as the encoder would report it.
func (s *objectScanner) members(yield func(name, value []byte) bool) {
	b := s.b
	fail := func() { s.err = &ValidationError{Field: "Data", Reason: "not valid JSON"} }
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		s.err = &ValidationError{Field: "Data", Reason: "must be a JSON object"}
		return
	}
	i = jsonscan.Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return
	}
	for {
		if i >= len(b) || b[i] != '"' {
			fail()
			return
		}
		end, plain, err := jsonscan.String(b, i)
		if err != nil {
			fail()
			return
		}
		name := b[i+1 : end-1]
		if !plain {
			var s string
			if json.Unmarshal(b[i:end], &s) != nil {
				fail()
				return
			}
			name = []byte(s)
		}
		i = jsonscan.Space(b, end)
		if i >= len(b) || b[i] != ':' {
			fail()
			return
		}
		start := jsonscan.Space(b, i+1)
		if start >= len(b) {
			fail()
			return
		}
		end, err = jsonscan.Value(b, start, s.depth+1)
		if err != nil {
			fail()
			return
		}
		if !yield(name, b[start:end]) {
			return
		}
		i = jsonscan.Space(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = jsonscan.Space(b, i+1)
		case i < len(b) && b[i] == '}':
			return
		default:
			fail()
			return
		}
	}
}
