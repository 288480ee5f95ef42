package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/eventpattern"
)

func TestMatchesEventType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		typ      webhook.EventType
		want     bool
	}{
		{"exact", []string{"task.updated"}, webhook.EventTaskUpdated, true},
		{"exact other type", []string{"task.updated"}, webhook.EventTaskCreated, false},
		{"category wildcard", []string{"task.*"}, webhook.EventTaskAssigned, true},
		{"other category wildcard", []string{"project.*"}, webhook.EventTaskAssigned, false},
		{"everything", []string{"*"}, webhook.EventMemberInvited, true},
		{"one of several", []string{"comment.created", "milestone.*"}, webhook.EventMilestoneCompleted, true},
		{"none of several", []string{"comment.created", "milestone.*"}, webhook.EventProjectCreated, false},
		{"no patterns", nil, webhook.EventTaskCreated, false},
		{"prefix is not a wildcard", []string{"task"}, webhook.EventTaskCreated, false},
		{"category of a longer resource", []string{"task.*"}, webhook.EventType("taskforce.created"), false},
		{"type wildcard is not supported", []string{"*.created"}, webhook.EventTaskCreated, false},
		{"case matters", []string{"Task.*"}, webhook.EventTaskCreated, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, webhook.MatchesEventType(tc.patterns, tc.typ))
		})
	}
}

func TestValidateEventTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		reason   string // substring of the error; empty when valid
	}{
		{"one type", []string{"task.created"}, ""},
		{"wildcards and types", []string{"task.*", "comment.created", "member.*"}, ""},
		{"everything", []string{"*"}, ""},
		{"ping category", []string{"webhook.*"}, ""},
		{"nil", nil, "at least one"},
		{"empty", []string{}, "at least one"},
		{"empty string", []string{""}, `unknown event type ""`},
		{"unknown type", []string{"task.exploded"}, `"task.exploded"`},
		{"unknown category", []string{"invoice.*"}, `"invoice.*"`},
		{"bare category", []string{"task"}, `"task"`},
		{"type wildcard", []string{"*.created"}, `"*.created"`},
		{"double wildcard", []string{"task.**"}, `"task.**"`},
		{"empty category", []string{".*"}, `".*"`},
		{"upper case", []string{"TASK.CREATED"}, `"TASK.CREATED"`},
		{"padded", []string{" task.created"}, `" task.created"`},
		{"repeated", []string{"task.created", "task.*", "task.created"}, "listed twice"},
		{"valid then invalid", []string{"task.*", "nope"}, `"nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.ValidateEventTypes(tc.patterns)
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "EventTypes", ve.Field)
			require.Contains(t, err.Error(), tc.reason)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
		})
	}
}

func TestValidateEventTypesCatalog(t *testing.T) {
	t.Parallel()
	for _, typ := range webhook.EventTypes {
		require.NoError(t, webhook.ValidateEventTypes([]string{string(typ)}), typ)
		require.NoError(t, webhook.ValidateEventTypes([]string{typ.Category() + ".*"}), typ.Category())
		for _, p := range eventpattern.Keys(string(typ)) {
			require.NoError(t, webhook.ValidateEventTypes([]string{p}), "eventpattern.Keys(%q) yields invalid %q", typ, p)
			require.True(t, webhook.MatchesEventType([]string{p}, typ))
		}
	}
}

func TestValidateEventTypesHugeInput(t *testing.T) {
	t.Parallel()
	err := webhook.ValidateEventTypes([]string{strings.Repeat("x", 1<<20)})
	var ve *webhook.ValidationError
	require.True(t, errors.As(err, &ve))
	require.Less(t, len(err.Error()), 200, "the error message quotes a bounded prefix")
}

func FuzzValidateEventTypes(f *testing.F) {
	for _, seed := range []string{"task.created", "task.*", "*", "", ".*", "*.created", "task.\x00", "\xff.*"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := webhook.ValidateEventTypes([]string{p})
		if err != nil {
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			return
		}
		// A valid pattern matches at least one catalog type, and only
		// catalog types match it through eventpattern.Keys.
		matched := false
		for _, typ := range webhook.EventTypes {
			matched = matched || webhook.MatchesEventType([]string{p}, typ)
		}
		require.True(t, matched, "valid pattern %q matches no catalog type", p)
	})
}
