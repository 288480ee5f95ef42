package main

import (
	"fmt"
	"strings"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// unknownEventType says that name is not an event type and, rather than the
// whole catalog, names the types it was probably meant to be: those of its
// category, or else the categories.
func unknownEventType(name string) string {
	cat := webhook.EventType(name).Category()
	var types, cats []string
	for _, in := range onplana.Catalog() {
		if in.Category == cat {
			types = append(types, string(in.Type))
		}
		if len(cats) == 0 || cats[len(cats)-1] != in.Category {
			cats = append(cats, in.Category)
		}
	}
	if len(types) > 0 {
		return fmt.Sprintf("unknown event type %q; the %s events are %s", name, cat, strings.Join(types, ", "))
	}
	return fmt.Sprintf("unknown event type %q; the categories are %s (\"webhook catalog\" lists every type)", name, strings.Join(cats, ", "))
}
