package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// EventInfo describes one type of the event catalog.
type EventInfo struct {
	// Type is the event type, such as "task.updated".
	Type EventType `json:"type"`
	// Category is the resource the type is about: one of the Category…
	// constants, the part of Type before the dot.
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
// EventType constants: project, task, milestone, comment, member, webhook.
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
func LookupEvent(t EventType) (EventInfo, bool) {
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

// catalog builds the entries once. The schemas and samples are static data
// whose encoding cannot fail at run time; the tests build them.
var catalog = sync.OnceValue(func() []EventInfo {
	infos := make([]EventInfo, len(eventTypes))
	for i, t := range eventTypes {
		schema, err := json.MarshalIndent(envelopeSchema(t), "", "  ")
		if err != nil {
			panic(fmt.Sprintf("webhook: catalog schema of %s: %v", t, err))
		}
		sample, err := sampleEnvelope(t)
		if err != nil {
			panic(fmt.Sprintf("webhook: catalog sample of %s: %v", t, err))
		}
		infos[i] = EventInfo{
			Type:          t,
			Category:      t.Category(),
			Description:   eventSpecs[t].description,
			HasDiff:       t.HasDiff(),
			ProjectScoped: t.ProjectScoped(),
			Schema:        schema,
			Sample:        sample,
		}
	}
	return infos
})
