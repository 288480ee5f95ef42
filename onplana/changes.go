package onplana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/onplana/webhook/internal/jsondec"
	"github.com/onplana/webhook/internal/jsonscan"
)

// Changes is the diff of an update event: for each changed top-level field
// of the resource, by its JSON name, the value before and after. Diff
// computes one; a receiver finds one in the Diff field of an update's
// data.
//
// Changes keeps the diff as the JSON it arrived in and decodes a field
// when asked (Field, ChangeOf, Decode), so that a handler pays only for
// the fields it reads: decoding an event validates the diff's shape, not
// its values. The zero Changes names no field. A Changes is immutable and
// safe for concurrent use.
type Changes struct {
	// raw is a JSON object of change objects ({"before":…,"after":…}),
	// validated by whoever set it; nil for the zero Changes.
	raw json.RawMessage
}

// NewChanges returns the Changes holding fields, for a test or a publisher
// that computes its diffs itself (Diff computes them from two values). A
// side left empty is JSON null. It returns an error naming the field, and
// wrapping json.Compact's *json.SyntaxError, if a side is not valid JSON.
func NewChanges(fields map[string]FieldChange) (Changes, error) {
	if len(fields) == 0 {
		return Changes{}, nil
	}
	b := []byte{'{'}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		fc := fields[name]
		if len(b) > 1 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(name) // a string always encodes
		b = append(append(b, key...), `:{"before":`...)
		var err error
		if b, err = appendSide(b, fc.Before); err != nil {
			return Changes{}, fmt.Errorf("onplana: diff of %q, before: %w", name, err)
		}
		b = append(b, `,"after":`...)
		if b, err = appendSide(b, fc.After); err != nil {
			return Changes{}, fmt.Errorf("onplana: diff of %q, after: %w", name, err)
		}
		b = append(b, '}')
	}
	return Changes{raw: append(b, '}')}, nil
}

// appendSide appends raw, compacted, to b: null when raw is empty.
func appendSide(b []byte, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return append(b, "null"...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, err
	}
	return buf.Bytes(), nil
}

// Len returns the number of fields the diff names.
func (c Changes) Len() int {
	n := 0
	for range c.All() {
		n++
	}
	return n
}

// IsZero reports whether the diff names no field, so that an update's
// data omits an empty diff (the omitzero option).
func (c Changes) IsZero() bool {
	for range c.members {
		return false
	}
	return true
}

// Field returns the change of the field named name, and whether the diff
// names it. When a diff names a field twice, the last one counts, as
// json.Unmarshal into a map has it. The change's Before and After share
// the diff's bytes: they must not be modified.
func (c Changes) Field(name string) (FieldChange, bool) {
	var fc FieldChange
	found := false
	for n, v := range c.members {
		if string(n) == name {
			fc, found = fieldChangeOf(v), true
		}
	}
	return fc, found
}

// All returns an iterator over the changed fields, by name, in the order
// of the diff (Diff and NewChanges sort them), each named once, as Field
// returns them.
func (c Changes) All() iter.Seq2[string, FieldChange] {
	return func(yield func(string, FieldChange) bool) {
		var names []string
		for n := range c.members {
			names = append(names, string(n))
		}
		i := 0
		for n, v := range c.members {
			i++
			if slices.Contains(names[i:], string(n)) {
				continue // named again later: that one counts
			}
			if !yield(string(n), fieldChangeOf(v)) {
				return
			}
		}
	}
}

// Fields returns the names of the changed fields, sorted.
func (c Changes) Fields() []string {
	names := []string{}
	for n := range c.All() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MarshalJSON returns the diff as a JSON object: {} for the zero Changes.
func (c Changes) MarshalJSON() ([]byte, error) {
	if c.raw == nil {
		return []byte("{}"), nil
	}
	return bytes.Clone(c.raw), nil
}

// UnmarshalJSON sets c to the diff data holds, a JSON object of change
// objects, and leaves it unchanged for null. It returns an error, and
// leaves c unchanged, for any other JSON.
func (c *Changes) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	next := *c
	decodeChanges(&d, &next)
	if err := d.End(); err != nil {
		return err
	}
	*c = next
	return nil
}

// members calls yield with the name and the value of each member of the
// diff, in order. The name aliases c or a scratch buffer; the value is
// the change object's bytes in c.
func (c Changes) members(yield func(name []byte, value []byte) bool) {
	if c.raw == nil {
		return
	}
	d := jsondec.New(c.raw)
	stop := false
	d.Object(func(name []byte) {
		if stop {
			d.Skip()
			return
		}
		start := d.Pos()
		d.Skip()
		stop = !yield(name, c.raw[start:d.Pos()])
	})
}

// fieldChangeOf decodes v, a change object of a Changes, validated when
// the Changes was set.
func fieldChangeOf(v []byte) FieldChange {
	var fc FieldChange
	d := jsondec.New(v)
	d.ObjectOf(fieldChangeFields, func(f int) {
		start := d.Pos()
		d.Skip()
		switch f {
		case fieldChangeBefore:
			fc.Before = v[start:d.Pos():d.Pos()]
		case fieldChangeAfter:
			fc.After = v[start:d.Pos():d.Pos()]
		}
	})
	return fc
}

// ChangeOf returns the values of field before and after the change, each
// decoded into a T, and whether the diff names the field:
//
//	before, after, ok, err := onplana.ChangeOf[string](data.Diff, "due_date")
//
// A side that is JSON null (the field was newly set, or cleared) is T's zero
// value. An error says that a value does not decode into T, and names the
// field.
func ChangeOf[T any](c Changes, field string) (before, after T, ok bool, err error) {
	fc, ok := c.Field(field)
	if !ok {
		return before, after, false, nil
	}
	// As fc.decode(field, &before, &after), without making before and
	// after escape to the heap for the common case of plain strings, which
	// then share one copy.
	if b, ok := any(&before).(*string); ok && plainStrings(fc.Before, fc.After, b, any(&after).(*string)) {
		return before, after, true, nil
	}
	if err = decodeSideOf(field, "before", fc.Before, &before); err == nil {
		err = decodeSideOf(field, "after", fc.After, &after)
	}
	return before, after, true, err
}

// decodeSideOf decodes raw, one side of the change of field, into dst as
// FieldChange.decode does.
func decodeSideOf[T any](field, side string, raw json.RawMessage, dst *T) error {
	if len(raw) == 0 {
		return nil
	}
	if s, ok := any(dst).(*string); ok && (string(raw) == "null" || plainString(raw, s)) {
		return nil // null leaves a string as it is, as json.Unmarshal does
	}
	v := new(T) // only this path needs the value on the heap
	*v = *dst
	err := json.Unmarshal(raw, v)
	*dst = *v
	if err != nil {
		return fmt.Errorf("onplana: diff of %q, %s: %w", field, side, err)
	}
	return nil
}

// Decode decodes the field's value before the change into before and its
// value after into after, as json.Unmarshal does: each is a pointer, or nil
// to skip that side. A side that is JSON null (the field was newly set, or
// cleared) leaves its target unchanged.
func (c FieldChange) Decode(before, after any) error {
	return c.decode("", before, after)
}

func (c FieldChange) decode(field string, before, after any) error {
	for _, side := range []struct {
		name string
		raw  json.RawMessage
		dst  any
	}{{"before", c.Before, before}, {"after", c.After, after}} {
		if side.dst == nil || len(side.raw) == 0 {
			continue
		}
		if s, ok := side.dst.(*string); ok && plainString(side.raw, s) {
			continue
		}
		if err := json.Unmarshal(side.raw, side.dst); err != nil {
			if field != "" {
				return fmt.Errorf("onplana: diff of %q, %s: %w", field, side.name, err)
			}
			return fmt.Errorf("onplana: diff %s: %w", side.name, err)
		}
	}
	return nil
}

// Decode decodes every field of the diff at once: the values before the
// change into before and those after into after, both pointers to the
// resource type (*Task for a task.updated diff), or nil to skip a side.
// Fields the diff does not name keep the values they had, so
//
//	var was, now onplana.Task
//	err := data.Diff.Decode(&was, &now)
//
// leaves was and now zero but for the changed fields. Fields of the diff
// that the type does not have are ignored, as json.Unmarshal ignores them.
func (c Changes) Decode(before, after any) error {
	if before != nil {
		if err := c.decodeSide("before", func(fc FieldChange) json.RawMessage { return fc.Before }, before); err != nil {
			return err
		}
	}
	if after != nil {
		return c.decodeSide("after", func(fc FieldChange) json.RawMessage { return fc.After }, after)
	}
	return nil
}

// decodeSide assembles one side of the diff as a JSON object and decodes
// it into dst.
func (c Changes) decodeSide(name string, side func(FieldChange) json.RawMessage, dst any) error {
	b := []byte{'{'}
	for field, fc := range c.All() {
		v := side(fc)
		if len(v) == 0 {
			v = jsonNull
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(field) // a string always encodes
		b = append(append(append(b, key...), ':'), v...)
	}
	b = append(b, '}')
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("onplana: diff %s: %w", name, err)
	}
	return nil
}

// plainStrings sets *before and *after to the values of the raw sides
// before and after, in one string, and reports true when each is a plain
// string (see plainString). Otherwise it sets nothing.
func plainStrings(rawBefore, rawAfter []byte, before, after *string) bool {
	b, ok := plainContent(rawBefore)
	if !ok {
		return false
	}
	a, ok := plainContent(rawAfter)
	if !ok {
		return false
	}
	both := string(b) + string(a) // one allocation: the conversions do not escape
	*before, *after = both[:len(b)], both[len(b):]
	return true
}

// plainContent returns the bytes between the quotes of raw when raw is one
// JSON string without escapes, in valid UTF-8.
func plainContent(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	end, plain, err := jsonscan.String(raw, 0)
	if err != nil || !plain || end != len(raw) || !utf8.Valid(raw[1:end-1]) {
		return nil, false
	}
	return raw[1 : end-1], true
}

// plainString sets *dst to the value of raw and reports true when raw is
// one JSON string without escapes, in valid UTF-8: most values of a diff,
// whose decoding then skips encoding/json.
func plainString(raw []byte, dst *string) bool {
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	end, plain, err := jsonscan.String(raw, 0)
	if err != nil || !plain || end != len(raw) || !utf8.Valid(raw[1:end-1]) {
		return false
	}
	*dst = string(raw[1 : end-1])
	return true
}
