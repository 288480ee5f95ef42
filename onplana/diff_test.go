package onplana_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/onplana"
)

func change(before, after string) onplana.FieldChange {
	return onplana.FieldChange{Before: json.RawMessage(before), After: json.RawMessage(after)}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	task := onplana.Task{
		ID: "task_1", ProjectID: "proj_1", Title: "Ship it", Status: onplana.TaskStatusTodo,
		Priority: onplana.TaskPriorityLow, AssigneeIDs: []string{"usr_1"}, DueDate: "2026-07-01",
		URL: "https://app.example/t/1", CreatedAt: created, UpdatedAt: created,
	}
	edit := func(f func(*onplana.Task)) onplana.Task {
		c := task
		c.AssigneeIDs = append([]string(nil), task.AssigneeIDs...)
		f(&c)
		return c
	}
	tests := []struct {
		name          string
		before, after any
		want          map[string]onplana.FieldChange
	}{
		{name: "identical structs", before: task, after: task, want: map[string]onplana.FieldChange{}},
		{
			name: "scalar fields", before: task,
			after: edit(func(c *onplana.Task) { c.DueDate = "2026-07-03"; c.Priority = onplana.TaskPriorityUrgent }),
			want: map[string]onplana.FieldChange{
				"due_date": change(`"2026-07-01"`, `"2026-07-03"`),
				"priority": change(`"low"`, `"urgent"`),
			},
		},
		{
			name: "omitted field set", before: task,
			after: edit(func(c *onplana.Task) { c.MilestoneID = "ms_1" }),
			want:  map[string]onplana.FieldChange{"milestone_id": change(`null`, `"ms_1"`)},
		},
		{
			name: "field cleared", before: task,
			after: edit(func(c *onplana.Task) { c.DueDate = "" }),
			want:  map[string]onplana.FieldChange{"due_date": change(`"2026-07-01"`, `null`)},
		},
		{
			name: "timestamp field", before: task,
			after: edit(func(c *onplana.Task) { c.CompletedAt = created.Add(time.Hour) }),
			want:  map[string]onplana.FieldChange{"completed_at": change(`null`, `"2026-06-01T09:00:00Z"`)},
		},
		{
			name: "slice field", before: task,
			after: edit(func(c *onplana.Task) { c.AssigneeIDs = append(c.AssigneeIDs, "usr_2") }),
			want:  map[string]onplana.FieldChange{"assignee_ids": change(`["usr_1"]`, `["usr_1","usr_2"]`)},
		},
		{
			name: "nil and empty slice encode the same", before: edit(func(c *onplana.Task) { c.AssigneeIDs = nil }),
			after: edit(func(c *onplana.Task) { c.AssigneeIDs = []string{} }),
			want:  map[string]onplana.FieldChange{},
		},
		{
			name: "pointers to structs", before: &task,
			after: new(edit(func(c *onplana.Task) { c.Title = "Ship it now" })),
			want:  map[string]onplana.FieldChange{"title": change(`"Ship it"`, `"Ship it now"`)},
		},
		{
			name:   "maps with added and removed keys",
			before: map[string]any{"a": 1, "b": "x", "gone": true},
			after:  map[string]any{"a": 2, "b": "x", "new": []int{1}},
			want: map[string]onplana.FieldChange{
				"a":    change(`1`, `2`),
				"gone": change(`true`, `null`),
				"new":  change(`null`, `[1]`),
			},
		},
		{
			name:   "absent and null are the same",
			before: map[string]any{"a": nil},
			after:  map[string]any{"b": nil},
			want:   map[string]onplana.FieldChange{},
		},
		{
			name:   "nested key order and whitespace do not count",
			before: json.RawMessage(`{"meta": {"x": 1, "y": [1, 2]}, "n": 1}`),
			after:  json.RawMessage(`{"n":1,"meta":{"y":[1,2],"x":1}}`),
			want:   map[string]onplana.FieldChange{},
		},
		{
			name:   "nested value change is a change of the top-level field",
			before: json.RawMessage(`{"meta":{"x":1,"y":2}}`),
			after:  json.RawMessage(`{"meta":{"x":1,"y":3}}`),
			want:   map[string]onplana.FieldChange{"meta": change(`{"x":1,"y":2}`, `{"x":1,"y":3}`)},
		},
		{
			name:   "number literals compare as written",
			before: json.RawMessage(`{"n":1}`),
			after:  json.RawMessage(`{"n":1.0}`),
			want:   map[string]onplana.FieldChange{"n": change(`1`, `1.0`)},
		},
		{
			name:   "role change of a member",
			before: onplana.Member{ID: "mem_1", Role: onplana.RoleMember},
			after:  onplana.Member{ID: "mem_1", Role: onplana.RoleAdmin},
			want:   map[string]onplana.FieldChange{"role": change(`"MEMBER"`, `"ADMIN"`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := onplana.Diff(tt.before, tt.after)
			require.NoError(t, err)
			require.Equal(t, tt.want, maps.Collect(got.All()))
			require.Equal(t, len(tt.want), got.Len())
		})
	}
}

func TestDiffRejectsInput(t *testing.T) {
	t.Parallel()
	var nilTask *onplana.Task
	tests := []struct {
		name          string
		before, after any
	}{
		{name: "nil before", before: nil, after: onplana.Task{}},
		{name: "nil after", before: onplana.Task{}, after: nil},
		{name: "different types", before: onplana.Task{}, after: onplana.Milestone{}},
		{name: "struct and pointer", before: onplana.Task{}, after: &onplana.Task{}},
		{name: "different map types", before: map[string]any{}, after: map[string]string{}},
		{name: "nil pointers", before: nilTask, after: nilTask},
		{name: "not objects", before: 1, after: 2},
		{name: "arrays", before: []string{"a"}, after: []string{"b"}},
		{name: "raw arrays", before: json.RawMessage(`[1]`), after: json.RawMessage(`[2]`)},
		{name: "invalid raw JSON", before: json.RawMessage(`{"a":`), after: json.RawMessage(`{}`)},
		{name: "unencodable", before: map[string]any{"c": make(chan int)}, after: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := onplana.Diff(tt.before, tt.after)
			require.ErrorIs(t, err, onplana.ErrDiffInput)
			require.Zero(t, got)
		})
	}
}

func TestChangesEncoding(t *testing.T) {
	t.Parallel()
	c, err := onplana.Diff(
		onplana.Project{ID: "proj_1", Status: onplana.ProjectStatusOnTrack, Name: "A"},
		onplana.Project{ID: "proj_1", Status: onplana.ProjectStatusAtRisk, Name: "B"},
	)
	require.NoError(t, err)
	require.Equal(t, []string{"name", "status"}, c.Fields())

	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":{"before":"A","after":"B"},"status":{"before":"on_track","after":"at_risk"}}`, string(b))

	var back onplana.Changes
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, c, back)

	var status onplana.ProjectStatus
	fc, ok := back.Field("status")
	require.True(t, ok)
	require.NoError(t, json.Unmarshal(fc.After, &status))
	require.Equal(t, onplana.ProjectStatusAtRisk, status)

	require.Empty(t, onplana.Changes{}.Fields())
}

// FuzzDiff checks Diff on arbitrary JSON objects: no panic, a value never
// differs from itself, and swapping the arguments mirrors the changes.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":"x"}`), []byte(`{"a":2,"c":null}`))
	f.Add([]byte(`{"n":{"x":1,"y":[1,2]}}`), []byte(`{"n":{"y":[1,2],"x":1}}`))
	f.Add([]byte(`{}`), []byte(`{"a":[]}`))
	f.Add([]byte(`{"a":1e3}`), []byte(`[1]`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ab, err := onplana.Diff(json.RawMessage(a), json.RawMessage(b))
		if err != nil {
			require.ErrorIs(t, err, onplana.ErrDiffInput)
			return
		}
		same, err := onplana.Diff(json.RawMessage(a), json.RawMessage(a))
		require.NoError(t, err)
		require.True(t, same.IsZero())

		ba, err := onplana.Diff(json.RawMessage(b), json.RawMessage(a))
		require.NoError(t, err)
		require.Equal(t, ab.Len(), ba.Len())
		for name, c := range ab.All() {
			mirror, ok := ba.Field(name)
			require.True(t, ok, name)
			require.Equal(t, onplana.FieldChange{Before: c.After, After: c.Before}, mirror, name)
		}
	})
}
