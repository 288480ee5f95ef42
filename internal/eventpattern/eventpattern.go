// Package eventpattern holds the rule by which subscriptions' event-type
// patterns select events, shared by the root package's MemoryStore and the
// SQL stores.
//
// A subscription's event types are patterns of three forms, and an event of
// type t matches exactly these three strings: t itself ("task.updated"), the
// wildcard of its category ("task.*") and "*". Stores therefore match without
// interpreting patterns at all: they index subscriptions by pattern and look
// up the three keys Keys returns, which keeps matching independent of the
// number of subscriptions.
package eventpattern

import "strings"

// All is the pattern that matches every event type.
const All = "*"

// Category returns the resource part of an event type: "task" for
// "task.updated". For a type without a dot it returns the whole type.
func Category(t string) string {
	if i := strings.IndexByte(t, '.'); i >= 0 {
		return t[:i]
	}
	return t
}

// Keys returns the patterns that select an event of type t, most specific
// first: t, its category wildcard ("task.*") and All. A store looks these
// keys up in its pattern index (in SQL, "pattern = ANY(…)").
func Keys(t string) [3]string {
	return [3]string{t, Category(t) + ".*", All}
}
