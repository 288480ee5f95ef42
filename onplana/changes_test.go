package onplana_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// diffOf returns the diff of a task.updated that changed the due date,
// the priority, the assignees and the completion time, and cleared the
// milestone.
func diffOf(t *testing.T) onplana.Changes {
	t.Helper()
	done := time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)
	before := onplana.Task{ID: "task_1", Title: "Ship", DueDate: "2026-07-01", Priority: onplana.TaskPriorityHigh,
		MilestoneID: "ms_1", AssigneeIDs: []string{"usr_1"}}
	after := before
	after.DueDate, after.Priority, after.MilestoneID = "2026-07-03", onplana.TaskPriorityUrgent, ""
	after.AssigneeIDs, after.CompletedAt = []string{"usr_1", "usr_2"}, done
	c, err := onplana.Diff(before, after)
	require.NoError(t, err)
	// Through the wire format, as a receiver gets it.
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	var got onplana.Changes
	require.NoError(t, json.Unmarshal(raw, &got))
	return got
}

// changesOf returns the Changes holding fields.
func changesOf(t testing.TB, fields map[string]onplana.FieldChange) onplana.Changes {
	t.Helper()
	c, err := onplana.NewChanges(fields)
	require.NoError(t, err)
	return c
}

func TestChangeOf(t *testing.T) {
	t.Parallel()
	c := diffOf(t)

	due, dueAfter, ok, err := onplana.ChangeOf[string](c, "due_date")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "2026-07-01", due)
	require.Equal(t, "2026-07-03", dueAfter)

	pBefore, pAfter, ok, err := onplana.ChangeOf[onplana.TaskPriority](c, "priority")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, onplana.TaskPriorityHigh, pBefore)
	require.Equal(t, onplana.TaskPriorityUrgent, pAfter)

	aBefore, aAfter, ok, err := onplana.ChangeOf[[]string](c, "assignee_ids")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"usr_1"}, aBefore)
	require.Equal(t, []string{"usr_1", "usr_2"}, aAfter)

	// Newly set: before is null, hence zero.
	cBefore, cAfter, ok, err := onplana.ChangeOf[time.Time](c, "completed_at")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, cBefore.IsZero())
	require.Equal(t, time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC), cAfter)

	// Cleared: after is null, hence zero.
	mBefore, mAfter, ok, err := onplana.ChangeOf[string](c, "milestone_id")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "ms_1", mBefore)
	require.Empty(t, mAfter)

	// Not in the diff.
	tBefore, tAfter, ok, err := onplana.ChangeOf[string](c, "title")
	require.NoError(t, err)
	require.False(t, ok)
	require.Empty(t, tBefore+tAfter)

	// A value of another type is an error that names the field.
	_, _, ok, err = onplana.ChangeOf[int](c, "due_date")
	require.True(t, ok)
	require.ErrorContains(t, err, `"due_date"`)
}

// TestChangeOfMatchesFieldChangeDecode: ChangeOf gives what
// FieldChange.Decode gives into the same type, error included, whatever
// the sides hold.
func TestChangeOfMatchesFieldChangeDecode(t *testing.T) {
	t.Parallel()
	sides := []string{``, `null`, `"plain"`, `"\u00e9"`, `5`, `[1,2]`, `{"a":1}`, `"2026-06-27T09:15:23Z"`, `true`, `"x" 1`}
	check := func(t *testing.T, before, after string, decode func(c onplana.Changes) (b, a any, err error), into func() (any, any)) {
		t.Helper()
		c, err := onplana.NewChanges(map[string]onplana.FieldChange{"f": {Before: json.RawMessage(before), After: json.RawMessage(after)}})
		if !json.Valid([]byte(before)) && before != "" || !json.Valid([]byte(after)) && after != "" {
			require.Error(t, err, "NewChanges takes %s / %s", before, after)
			return
		}
		require.NoError(t, err)
		gotB, gotA, err := decode(c)
		wantB, wantA := into()
		fc, ok := c.Field("f")
		require.True(t, ok)
		wantErr := fc.Decode(wantB, wantA)
		require.Equal(t, wantErr != nil, err != nil, "%s / %s: %v, want %v", before, after, err, wantErr)
		if wantErr == nil {
			require.Equal(t, reflect.ValueOf(wantB).Elem().Interface(), gotB, "%s / %s", before, after)
			require.Equal(t, reflect.ValueOf(wantA).Elem().Interface(), gotA, "%s / %s", before, after)
		}
	}
	for _, before := range sides {
		for _, after := range sides {
			check(t, before, after, func(c onplana.Changes) (any, any, error) {
				b, a, _, err := onplana.ChangeOf[string](c, "f")
				return b, a, err
			}, func() (any, any) { return new(string), new(string) })
			check(t, before, after, func(c onplana.Changes) (any, any, error) {
				b, a, _, err := onplana.ChangeOf[[]int](c, "f")
				return b, a, err
			}, func() (any, any) { return new([]int), new([]int) })
			check(t, before, after, func(c onplana.Changes) (any, any, error) {
				b, a, _, err := onplana.ChangeOf[time.Time](c, "f")
				return b, a, err
			}, func() (any, any) { return new(time.Time), new(time.Time) })
		}
	}
}

// TestChangeOfPlainStringsAllocateOnlyTheirValues: reading a change of
// plain strings costs one copy of the two, nothing for the values around
// them; with one side null, the other's copy.
func TestChangeOfPlainStringsAllocateOnlyTheirValues(t *testing.T) {
	for _, fc := range []onplana.FieldChange{
		{Before: json.RawMessage(`"2026-07-01"`), After: json.RawMessage(`"2026-07-03"`)},
		{Before: json.RawMessage(`null`), After: json.RawMessage(`"2026-07-03"`)},
		{After: json.RawMessage(`"2026-07-03"`)},
	} {
		c := changesOf(t, map[string]onplana.FieldChange{"due_date": fc})
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, ok, err := onplana.ChangeOf[string](c, "due_date"); !ok || err != nil {
				panic(err)
			}
		})
		require.LessOrEqual(t, allocs, 1.0, "%s / %s", fc.Before, fc.After)
	}
}

// The fast path for plain strings gives what encoding/json gives, and
// leaves escaped strings to it.
func TestChangeOfStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    string
		wantErr bool
	}{
		{`"plain"`, "plain", false},
		{`"tab\tescape"`, "tab\tescape", false},
		{`"\u00e9t\u00e9"`, "été", false},
		{"\"invalid \xff utf-8\"", "invalid \ufffd utf-8", false},
		{`null`, "", false},
		{`""`, "", false},
		{`5`, "", true},
		{`"unterminated`, "", true},
		{`"a" "b"`, "", true},
	}
	for _, tt := range tests {
		// NewChanges refuses what is not JSON; ChangeOf what is no string.
		c, err := onplana.NewChanges(map[string]onplana.FieldChange{"f": {Before: json.RawMessage(tt.raw), After: json.RawMessage(`"x"`)}})
		var before string
		if err == nil {
			before, _, _, err = onplana.ChangeOf[string](c, "f")
		}
		if tt.wantErr {
			require.Error(t, err, tt.raw)
			continue
		}
		require.NoError(t, err, tt.raw)
		require.Equal(t, tt.want, before, tt.raw)
	}
}

func TestChangesDecode(t *testing.T) {
	t.Parallel()
	c := diffOf(t)
	var was, now onplana.Task
	require.NoError(t, c.Decode(&was, &now))
	require.Equal(t, onplana.Task{DueDate: "2026-07-01", Priority: onplana.TaskPriorityHigh, MilestoneID: "ms_1",
		AssigneeIDs: []string{"usr_1"}}, was, "only the changed fields are set")
	require.Equal(t, onplana.Task{DueDate: "2026-07-03", Priority: onplana.TaskPriorityUrgent,
		AssigneeIDs: []string{"usr_1", "usr_2"}, CompletedAt: time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)}, now)

	var onlyAfter onplana.Task
	require.NoError(t, c.Decode(nil, &onlyAfter))
	require.Equal(t, now, onlyAfter)

	// Fields the type does not have are ignored, as by json.Unmarshal.
	var m onplana.Milestone
	require.NoError(t, c.Decode(nil, &m))
	require.Equal(t, "2026-07-03", m.DueDate)

	// A value of the wrong type is an error.
	bad := changesOf(t, map[string]onplana.FieldChange{"due_date": {Before: json.RawMessage(`5`), After: json.RawMessage(`"x"`)}})
	require.ErrorContains(t, bad.Decode(&was, nil), "diff before")
	require.NoError(t, onplana.Changes{}.Decode(&was, &now))
}

func TestFieldChangeDecode(t *testing.T) {
	t.Parallel()
	fc := onplana.FieldChange{Before: json.RawMessage(`"MEMBER"`), After: json.RawMessage(`"ADMIN"`)}
	var before, after onplana.Role
	require.NoError(t, fc.Decode(&before, &after))
	require.Equal(t, onplana.RoleMember, before)
	require.Equal(t, onplana.RoleAdmin, after)
	require.NoError(t, fc.Decode(nil, nil))
	require.ErrorContains(t, onplana.FieldChange{After: json.RawMessage(`[]`)}.Decode(nil, &after), "after")
}

// FuzzChangeOf checks ChangeOf[string], with its fast paths for plain
// strings and null, against FieldChange.Decode on any pair of sides.
func FuzzChangeOf(f *testing.F) {
	for _, s := range []string{``, `null`, `"plain"`, `"\u00e9"`, `5`, `"x" 1`, "\"\xff\"", ` null`, `"a\"b"`} {
		f.Add([]byte(s), []byte(`"after"`))
		f.Add([]byte(`"before"`), []byte(s))
	}
	f.Fuzz(func(t *testing.T, before, after []byte) {
		fc := onplana.FieldChange{Before: before, After: after}
		c, err := onplana.NewChanges(map[string]onplana.FieldChange{"f": fc})
		if err != nil {
			if (len(before) == 0 || json.Valid(before)) && (len(after) == 0 || json.Valid(after)) {
				t.Fatalf("%q / %q: NewChanges refuses valid JSON: %v", before, after, err)
			}
			return
		}
		gotB, gotA, ok, err := onplana.ChangeOf[string](c, "f")
		if !ok {
			t.Fatal("field not found")
		}
		var wantB, wantA string
		wantErr := fc.Decode(&wantB, &wantA)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q / %q: ChangeOf error %v, Decode %v", before, after, err, wantErr)
		}
		if err == nil && (gotB != wantB || gotA != wantA) {
			t.Fatalf("%q / %q: ChangeOf %q, %q; Decode %q, %q", before, after, gotB, gotA, wantB, wantA)
		}
	})
}

// TestChangesAccessors: Field, All, Len and Fields read the diff as
// json.Unmarshal into a map reads it: the last of two members with one
// name counts, null is a zero change.
func TestChangesAccessors(t *testing.T) {
	t.Parallel()
	var c onplana.Changes
	require.NoError(t, json.Unmarshal([]byte(`{"b":{"before":1,"after":2},"a":null,"b":{"AFTER":3}}`), &c))
	require.Equal(t, 2, c.Len())
	require.Equal(t, []string{"a", "b"}, c.Fields())
	b, ok := c.Field("b")
	require.True(t, ok)
	require.Equal(t, onplana.FieldChange{After: json.RawMessage(`3`)}, b, "the last one counts")
	a, ok := c.Field("a")
	require.True(t, ok)
	require.Zero(t, a)
	_, ok = c.Field("c")
	require.False(t, ok)
	require.Equal(t, map[string]onplana.FieldChange{"a": {}, "b": b}, maps.Collect(c.All()))
	for range c.All() {
		break // an iterator that stops early does not panic
	}

	var zero onplana.Changes
	require.True(t, zero.IsZero())
	require.Zero(t, zero.Len())
	require.Equal(t, []string{}, zero.Fields())
	_, ok = zero.Field("a")
	require.False(t, ok)
	raw, err := json.Marshal(zero)
	require.NoError(t, err)
	require.Equal(t, `{}`, string(raw))
}

// TestChangesJSON: an empty diff is left out of an update's data; null
// leaves a diff unchanged, as for any json.Unmarshaler; anything but an
// object of change objects is refused and leaves it unchanged too.
func TestChangesJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(onplana.TaskEventData{Task: onplana.Task{ID: "task_1"}})
	require.NoError(t, err)
	require.NotContains(t, string(b), "diff")
	var empty onplana.Changes
	require.NoError(t, json.Unmarshal([]byte(`{}`), &empty))
	b, err = json.Marshal(onplana.TaskEventData{Diff: empty})
	require.NoError(t, err)
	require.NotContains(t, string(b), "diff", "an empty diff is left out")

	c := changesOf(t, map[string]onplana.FieldChange{"title": {Before: json.RawMessage(`"a"`), After: json.RawMessage(`"b"`)}})
	kept := c
	require.NoError(t, json.Unmarshal([]byte(`null`), &c))
	require.Equal(t, kept, c)
	for _, bad := range []string{`[]`, `5`, `"x"`, `{"a":5}`, `{"a":[]}`, `{"a":{"before":}}`, `{"a":{}`, `{} {}`} {
		require.Error(t, json.Unmarshal([]byte(bad), &c), bad)
		require.Equal(t, kept, c, bad)
	}
}

func TestNewChanges(t *testing.T) {
	t.Parallel()
	c, err := onplana.NewChanges(map[string]onplana.FieldChange{
		"title":   {Before: json.RawMessage(` "a" `), After: json.RawMessage(`"b"`)},
		"due\"on": {After: json.RawMessage(`{ "x" : [1, 2] }`)},
	})
	require.NoError(t, err)
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"due\"on":{"before":null,"after":{"x":[1,2]}},"title":{"before":"a","after":"b"}}`, string(raw),
		"sorted, compact, an empty side null")

	c, err = onplana.NewChanges(nil)
	require.NoError(t, err)
	require.True(t, c.IsZero())

	_, err = onplana.NewChanges(map[string]onplana.FieldChange{"title": {Before: json.RawMessage(`"a`)}})
	require.ErrorContains(t, err, `diff of "title", before`)
	var syntax *json.SyntaxError
	require.ErrorAs(t, err, &syntax)
	_, err = onplana.NewChanges(map[string]onplana.FieldChange{"title": {After: json.RawMessage(`1 2`)}})
	require.ErrorContains(t, err, `diff of "title", after`)
}

// FuzzChanges checks Changes against json.Unmarshal into a map of
// FieldChange, what a diff was before Changes kept its JSON: the same
// inputs accepted, the same fields with the same values.
func FuzzChanges(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"a":{"before":1,"after":"x"}}`, `{"a":null,"a":{"After":2}}`,
		`{"\u00e9":{"before":{"x":[true]},"other":1}}`, `{"a":5}`, `[]`, `{"a":{"before":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]onplana.FieldChange
		wantErr := json.Unmarshal(data, &want)
		var c onplana.Changes
		err := json.Unmarshal(data, &c)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: Changes: %v, a map: %v", data, err, wantErr)
		}
		if err != nil {
			return
		}
		got := maps.Collect(c.All())
		if want == nil {
			want = map[string]onplana.FieldChange{} // null
		}
		require.Equal(t, want, got, "%q", data)
		require.Equal(t, len(want), c.Len())
		for name, fc := range want {
			f, ok := c.Field(name)
			require.True(t, ok, name)
			require.Equal(t, fc, f, name)
		}
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		var back onplana.Changes
		require.NoError(t, json.Unmarshal(raw, &back))
		require.Equal(t, got, maps.Collect(back.All()))
	})
}

// BenchmarkChangeOf reads one field of the sample task.updated diff (three
// fields) as a typed handler does.
func BenchmarkChangeOf(b *testing.B) {
	info, ok := onplana.LookupEvent(webhook.EventTaskUpdated)
	require.True(b, ok)
	var e webhook.Event
	require.NoError(b, json.Unmarshal(info.Sample, &e))
	var data onplana.TaskEventData
	require.NoError(b, e.DecodeData(&data))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok, err := onplana.ChangeOf[string](data.Diff, "priority"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
