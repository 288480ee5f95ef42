package onplana

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/onplana/webhook/internal/jsonscan"
)

// ChangeOf returns the values of field before and after the change, each
// decoded into a T, and whether the diff names the field:
//
//	before, after, ok, err := onplana.ChangeOf[string](data.Diff, "due_date")
//
// A side that is JSON null (the field was newly set, or cleared) is T's zero
// value. An error says that a value does not decode into T, and names the
// field.
func ChangeOf[T any](c Changes, field string) (before, after T, ok bool, err error) {
	fc, ok := c[field]
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
	for _, field := range slices.Sorted(maps.Keys(c)) {
		v := side(c[field])
		if len(v) == 0 {
			v = jsonNull
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		key, err := json.Marshal(field)
		if err != nil {
			return fmt.Errorf("onplana: diff field %q: %w", field, err)
		}
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
