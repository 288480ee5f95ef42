package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// jsonValidSeeds are inputs on both sides of every rule of the grammar.
var jsonValidSeeds = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a" : 1 , "b":[true,false,null]}`,
	`{"a":1,}`, `{,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`,
	`"x"`, `"`, `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"a` + "\x01" + `"`,
	"\"\xff\xfe\"", "\"é\"", `true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`,
	`0`, `-0`, `01`, `-01`, `1.`, `1.5`, `.5`, `-`, `1e`, `1e+`, `1E-7`, `1e+10`, `-12.5e3`, `0.0e0`, `1.e5`,
	`1 2`, `{} {}`, `[]]`, `[[]`, `{"a":{"b":{"c":[[[{}]]]}}}`, "\t\n\r[1]\r\n\t", "\v[1]",
	`{"task":{"id":"task_1","title":"Review","tags":["a","b"],"n":-3.25e-2}}`,
}

func TestValidJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "depth at the limit", in: strings.Repeat("[", maxJSONNesting) + strings.Repeat("]", maxJSONNesting)},
		{name: "depth over the limit", in: strings.Repeat("[", maxJSONNesting+1) + strings.Repeat("]", maxJSONNesting+1)},
		{name: "empty containers over the limit", in: strings.Repeat(`{"a":`, maxJSONNesting) + "[]" + strings.Repeat("}", maxJSONNesting)},
	}
	for _, s := range jsonValidSeeds {
		tests = append(tests, struct {
			name string
			in   string
		}{name: s, in: s})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, json.Valid([]byte(tt.in)), validJSON([]byte(tt.in)), "%q", tt.in)
		})
	}
}

// FuzzValidJSON checks validJSON against json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonValidSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		require.Equal(t, json.Valid(data), validJSON(data), "%q", data)
	})
}

func BenchmarkValidJSON(b *testing.B) {
	data := []byte(`{"task":{"id":"task_01hzy3","title":"Prepare the quarterly portfolio review","status":"in_progress",` +
		`"priority":"high","assignee_ids":["usr_1","usr_2"],"due_date":"2026-07-01","project_id":"proj_1",` +
		`"created_at":"2026-06-01T10:00:00Z","updated_at":"2026-06-27T09:15:23Z"},` +
		`"diff":{"due_date":{"before":"2026-06-28","after":"2026-07-01"}},"actor":{"id":"usr_3","name":"Ada"}}`)
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !validJSON(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
