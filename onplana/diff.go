package onplana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// ErrDiffInput is returned by Diff when its arguments are not two values of
// the same type that encode to JSON objects.
var ErrDiffInput = errors.New("onplana: diff needs two JSON objects of the same type")

// Diff compares the JSON encodings of before and after, two values of the
// same type (resource structs such as Task, pointers to them, maps, or
// json.RawMessage objects), and returns the top-level fields whose values
// differ, by JSON name, with both values. The result is what update events
// carry in data.diff:
//
//	{"due_date": {"before": "2026-07-01", "after": "2026-07-03"}}
//
// A field present on one side only (an omitted empty field that was set, or
// cleared) is a change whose missing side is JSON null; a field absent on one
// side and null on the other is not. Values are compared as JSON, so key
// order and whitespace inside nested objects do not count as changes. Diff
// returns the zero Changes when nothing changed, and an error
// wrapping ErrDiffInput when the types differ or either value is nil or does
// not encode to a JSON object.
func Diff(before, after any) (Changes, error) {
	if before == nil || after == nil {
		return Changes{}, fmt.Errorf("%w: got a nil value", ErrDiffInput)
	}
	if tb, ta := reflect.TypeOf(before), reflect.TypeOf(after); tb != ta {
		return Changes{}, fmt.Errorf("%w: %v and %v", ErrDiffInput, tb, ta)
	}
	b, err := objectFields(before)
	if err != nil {
		return Changes{}, err
	}
	a, err := objectFields(after)
	if err != nil {
		return Changes{}, err
	}
	changes := map[string]FieldChange{}
	for name, bv := range b {
		if av, ok := a[name]; !ok || !jsonEqual(bv, av) {
			changes[name] = FieldChange{Before: bv, After: orNull(av)}
		}
	}
	for name, av := range a {
		if _, ok := b[name]; !ok && !jsonEqual(jsonNull, av) {
			changes[name] = FieldChange{Before: jsonNull, After: av}
		}
	}
	// A field absent on one side and null on the other is no change.
	for name, c := range changes {
		if jsonEqual(c.Before, c.After) {
			delete(changes, name)
		}
	}
	return NewChanges(changes)
}

var jsonNull = json.RawMessage("null")

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return jsonNull
	}
	return v
}

// objectFields encodes v and splits the resulting JSON object into its
// top-level fields.
func objectFields(v any) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiffInput, err)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%w: %T does not encode to an object", ErrDiffInput, v)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiffInput, err)
	}
	return fields, nil
}

// jsonEqual reports whether two JSON values are equal, ignoring whitespace
// and the order of object keys. Numbers compare by their literal text.
func jsonEqual(x, y json.RawMessage) bool {
	if bytes.Equal(x, y) {
		return true
	}
	cx, errx := canonicalJSON(x)
	cy, erry := canonicalJSON(y)
	return errx == nil && erry == nil && bytes.Equal(cx, cy)
}

// canonicalJSON re-encodes v with sorted keys and no insignificant space.
func canonicalJSON(v json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return json.Marshal(x)
}
