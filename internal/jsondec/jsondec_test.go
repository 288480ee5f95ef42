package jsondec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/internal/jsonscan"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	names := []string{"status", "Status2", "id"}
	tests := []struct{ key, want string }{
		{"status", "status"},
		{"STATUS", "status"},
		{"ſtatus", "status"}, // U+017F folds to s, as in encoding/json
		{"status2", "Status2"},
		{"ID", "id"},
		{"state", ""},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Match([]byte(tt.key), names), tt.key)
	}
}

// decodeObject decodes data as an object of string fields a and b.
func decodeObject(data string) (a, b string, err error) {
	d := New([]byte(data))
	d.Object(func(name []byte) {
		switch Match(name, []string{"a", "b"}) {
		case "a":
			String(&d, &a)
		case "b":
			String(&d, &b)
		default:
			d.Skip()
		}
	})
	return a, b, d.End()
}

func TestDecoderRefusesWhatIsNotJSON(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		``, ` `, `{`, `{"a"`, `{"a":`, `{"a":"x"`, `{"a":"x",}`, `{"a":"x"}}`, `{"a":"x"} 1`, `{a:1}`,
		`{"a":"x" "b":"y"}`, `{"c":[1,}`, `{"c":nul}`, `{"a":"\x"}`, "{\"a\":\"\x00\"}", `nulll`,
		`{"c":` + strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1) + `}`,
	} {
		_, _, err := decodeObject(data)
		require.Error(t, err, "%q", data)
	}
}

func TestDecoderReadsObjects(t *testing.T) {
	t.Parallel()
	tests := []struct{ data, a, b string }{
		{`{"a":"1","b":"2"}`, "1", "2"},
		{` { "b" : "2" , "c" : {"a":"nested"} , "a" : "1" } `, "1", "2"},
		{`{"a":null}`, "", ""},
		{`null`, "", ""},
		{`{}`, "", ""},
		{`{"a":"\u00e9\n","A":"last wins"}`, "last wins", ""},
	}
	for _, tt := range tests {
		a, b, err := decodeObject(tt.data)
		require.NoError(t, err, tt.data)
		require.Equal(t, tt.a, a, tt.data)
		require.Equal(t, tt.b, b, tt.data)
	}
}
