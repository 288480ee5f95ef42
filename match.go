package webhook

import (
	"strconv"
	"strings"
)

// A subscription's EventTypes are patterns. Three forms exist, and an event of
// type t matches exactly these three strings: t itself ("task.updated"), the
// wildcard of its category ("task.*") and "*". Stores therefore match without
// interpreting patterns at all: they index subscriptions by pattern and look
// up the three keys MatchingPatterns returns, which is what keeps matching
// independent of the number of subscriptions.

// WildcardAll is the event-type pattern that matches every event type.
const WildcardAll = "*"

// MatchingPatterns returns the patterns that select an event of type t, most
// specific first: t, its category wildcard ("task.*") and WildcardAll. A store
// looks these keys up in its pattern index (in SQL, "pattern IN (…)") to find
// the subscriptions of an event.
func MatchingPatterns(t EventType) [3]string {
	return [3]string{string(t), t.Category() + ".*", WildcardAll}
}

// MatchesEventType reports whether an event of type t is selected by any of
// patterns. Patterns are not validated here; see ValidateEventTypes.
func MatchesEventType(patterns []string, t EventType) bool {
	keys := MatchingPatterns(t)
	for _, p := range patterns {
		if p == keys[0] || p == keys[1] || p == keys[2] {
			return true
		}
	}
	return false
}

// ValidateEventTypes checks a subscription's event-type patterns: at least
// one, each a known catalog type ("task.updated"), the wildcard of a known
// category ("task.*") or "*", and none repeated. It returns a
// *ValidationError for the field "EventTypes" naming the first bad pattern.
func ValidateEventTypes(patterns []string) error {
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
