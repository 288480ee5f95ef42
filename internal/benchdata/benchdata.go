// Package benchdata holds the bodies the receiving benchmarks of every
// module send, so that their figures compare the same bytes.
package benchdata

import (
	"fmt"
	"strings"
)

// Size is a body size the receiving benchmarks run at.
type Size struct {
	Name  string
	Bytes int
}

// Sizes run from a typical delivery to one near the Receiver's default
// body cap, as sent by senders that embed full resource state.
var Sizes = []Size{
	{"1KiB", 1 << 10},
	{"16KiB", 16 << 10},
	{"1MiB", 1 << 20},
	{"4MiB", 4 << 20},
}

// Envelope returns a task.updated envelope of about size bytes: a task
// with a diff, padded with checklist items as a real task would carry.
// Non-ASCII text is raw UTF-8, as encoding/json writes it.
func Envelope(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"delivery_id":"dlv_01kw45sezre203hr56hecgy520","event_id":"evt_01kw45sezrr1qh7qk7r36mx458",` +
		`"event":"task.updated","timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"proj_xyz789",` +
		`"data":{"diff":{"due_date":{"before":"2026-07-01","after":"2026-07-03"}},"task":{"id":"task_8f3k2m",` +
		`"title":"Migrate the pricing page to the new CMS","status":"blocked","priority":"urgent","checklist":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"text":"Port plan card %d and keep its URL — résumé","done":%t}`, i, i, i%2 == 0)
	}
	b.WriteString(`]}}}`)
	return []byte(b.String())
}
