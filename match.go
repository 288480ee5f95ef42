package webhook

import (
	"strconv"
	"strings"

	"github.com/onplana/webhook/internal/eventpattern"
)

// A subscription's EventTypes are patterns of three forms; an event of type
// t matches exactly t, its category wildcard ("task.*") and "*" (see
// package internal/eventpattern, which the stores share).

// WildcardAll is the event-type pattern that matches every event type.
const WildcardAll = eventpattern.All

// matchesEventType reports whether an event of type t is selected by any of
// patterns. Patterns are not validated here; see validateEventTypes.
func matchesEventType(patterns []string, t EventType) bool {
	keys := eventpattern.Keys(string(t))
	for _, p := range patterns {
		if p == keys[0] || p == keys[1] || p == keys[2] {
			return true
		}
	}
	return false
}

// validateEventTypes checks a subscription's event-type patterns: at least
// one, each a known catalog type ("task.updated"), the wildcard of a known
// category ("task.*") or "*", and none repeated. It returns a
// *ValidationError for the field "EventTypes" naming the first bad pattern.
func validateEventTypes(patterns []string) error {
	if len(patterns) == 0 {
		return &ValidationError{Field: "EventTypes", Reason: "at least one event type is required"}
	}
	seen := make(map[string]bool, len(patterns))
	for _, p := range patterns {
		if !validPattern(p) {
			return &ValidationError{Field: "EventTypes", Reason: "unknown event type " + quotePattern(p)}
		}
		if seen[p] {
			return &ValidationError{Field: "EventTypes", Reason: "event type " + quotePattern(p) + " listed twice"}
		}
		seen[p] = true
	}
	return nil
}

// validPattern reports whether p is one of the three pattern forms.
func validPattern(p string) bool {
	if p == WildcardAll {
		return true
	}
	if cat, ok := strings.CutSuffix(p, ".*"); ok {
		return knownCategory(cat)
	}
	return EventType(p).Known()
}

// knownCategory reports whether some catalog type has category cat.
func knownCategory(cat string) bool {
	if cat == "" {
		return false
	}
	for _, t := range eventTypes {
		if t.Category() == cat {
			return true
		}
	}
	return false
}

// quotePattern quotes p for an error message, shortened so that a huge or
// hostile input cannot blow up the message.
func quotePattern(p string) string {
	const max = 64
	if len(p) > max {
		return strconv.Quote(p[:max]) + "…"
	}
	return strconv.Quote(p)
}
