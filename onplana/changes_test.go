package onplana_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
		c := onplana.Changes{"f": {Before: json.RawMessage(before), After: json.RawMessage(after)}}
		gotB, gotA, err := decode(c)
		wantB, wantA := into()
		wantErr := c["f"].Decode(wantB, wantA)
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
		c := onplana.Changes{"due_date": fc}
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
		c := onplana.Changes{"f": {Before: json.RawMessage(tt.raw), After: json.RawMessage(`"x"`)}}
		before, _, _, err := onplana.ChangeOf[string](c, "f")
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
	bad := onplana.Changes{"due_date": {Before: json.RawMessage(`5`), After: json.RawMessage(`"x"`)}}
	require.ErrorContains(t, bad.Decode(&was, nil), "diff before")
	require.NoError(t, onplana.Changes{}.Decode(&was, &now))
	require.NoError(t, onplana.Changes(nil).Decode(&was, &now))
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
		gotB, gotA, ok, err := onplana.ChangeOf[string](onplana.Changes{"f": fc}, "f")
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
