package jsondec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unsafe"

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
	var v ab
	decodeAB(&d, &v)
	err = d.End()
	return v.a, v.b, err
}

// ab is an object of string fields a and b.
type ab struct{ a, b string }

// decodeAB decodes the object at d into v, whose strings are set when d is
// done.
func decodeAB(d *Decoder, v *ab) {
	d.Object(func(name []byte) {
		switch Match(name, []string{"a", "b"}) {
		case "a":
			String(d, &v.a)
		case "b":
			String(d, &v.b)
		default:
			d.Skip()
		}
	})
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

// TestNewAt decodes a value in the middle of a document: the decoder
// starts at the value, stops after it (Done), counts the containers around
// it against MaxDepth as jsonscan.Value does, and its strings are set when
// it is done.
func TestNewAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		doc   string
		at    int
		depth int
		a, b  string
		end   int // -1: an error
	}{
		{"inner object", `{"x":1,"data":{"a":"1","b":"2"},"y":2}`, 14, 1, "1", "2", 31},
		{"object at the end", `{"data":{"a":"only"}}`, 8, 1, "only", "", 20},
		{"escapes", `[{"a":"\u00e9","b":"x"}]`, 1, 1, "é", "x", 23},
		{"not JSON", `{"data":{"a":"1",}}`, 8, 1, "1", "", -1},
		// The envelope, data and its arrays: MaxDepth containers in all at
		// the limit, one more over it.
		{"depth over the limit", `{"data":{"c":` + strings.Repeat("[", jsonscan.MaxDepth-1) + strings.Repeat("]", jsonscan.MaxDepth-1) + `}}`, 8, 1, "", "", -1},
		{"depth at the limit", `{"data":{"c":` + strings.Repeat("[", jsonscan.MaxDepth-2) + strings.Repeat("]", jsonscan.MaxDepth-2) + `}}`, 8, 1, "", "", len(`{"data":{"c":`) + 2*(jsonscan.MaxDepth-2) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := []byte(tt.doc)
			d := NewAt(doc, tt.at, tt.depth, Carried{})
			var v ab
			decodeAB(&d, &v)
			pos, err := d.Done()
			end, verr := jsonscan.Value(doc, tt.at, tt.depth)
			// Strings decoded before an error are set, as encoding/json
			// sets them.
			require.Equal(t, tt.a, v.a)
			require.Equal(t, tt.b, v.b)
			if tt.end < 0 {
				require.Error(t, err)
				require.Error(t, verr, "jsonscan.Value agrees")
				return
			}
			require.NoError(t, err)
			require.NoError(t, verr)
			require.Equal(t, tt.end, pos)
			require.Equal(t, end, pos, "jsonscan.Value agrees")
		})
	}
}

// TestStringsShareOneCopyOfTheirBytes: the plain strings a Decoder sets
// are copied together into one string holding their bytes and nothing
// else, in the order decoded; a string with an escape is decoded on its
// own. Members of one name set the last value, whichever way each was
// decoded.
func TestStringsShareOneCopyOfTheirBytes(t *testing.T) {
	t.Parallel()
	d := New([]byte(`{"a":"first","n":[1,2,3],"b":"second","c":"\u00e9"}`))
	var v struct{ a, b, c string }
	d.Object(func(name []byte) {
		switch string(name) {
		case "a":
			String(&d, &v.a)
		case "b":
			String(&d, &v.b)
		case "c":
			String(&d, &v.c)
		default:
			d.Skip()
		}
	})
	require.NoError(t, d.End())
	require.Equal(t, "first", v.a)
	require.Equal(t, "second", v.b)
	require.Equal(t, "é", v.c)
	require.Equal(t, unsafe.Add(unsafe.Pointer(unsafe.StringData(v.a)), len(v.a)), unsafe.Pointer(unsafe.StringData(v.b)),
		"b follows a in one copy, without the bytes between them in the input")

	for _, data := range []string{
		`{"a":"plain","a":"\u00e9scaped"}`,
		`{"a":"\u00e9scaped","a":"plain"}`,
		`{"a":"plain","a":"again"}`,
		`{"a":"plain","a":null}`,
	} {
		a, _, err := decodeObject(data)
		require.NoError(t, err)
		var want struct{ A string }
		require.NoError(t, json.Unmarshal([]byte(data), &want))
		require.Equal(t, want.A, a, data)
	}
}

// TestCarried: the strings of the document around a value, carried into
// its Decoder, are set with the value's, in the same copy, before them.
func TestCarried(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"id":"env_1","data":{"a":"x","b":"y"}}`)
	var id string
	var c Carried
	require.True(t, c.Add(Span{Dst: &id, Lo: 7, Hi: 12}))
	d := NewAt(doc, 21, 1, c)
	var v ab
	decodeAB(&d, &v)
	end, err := d.Done()
	require.NoError(t, err)
	require.Equal(t, len(doc)-1, end)
	require.Equal(t, "env_1", id)
	require.Equal(t, ab{"x", "y"}, v)
	require.Equal(t, unsafe.Add(unsafe.Pointer(unsafe.StringData(id)), len(id)), unsafe.Pointer(unsafe.StringData(v.a)), "one copy")

	for range 5 {
		c.Add(Span{})
	}
	require.Len(t, c.Spans(), 5)
	require.False(t, c.Add(Span{}), "full")
}

// TestManyStrings: more plain strings than a Decoder holds pending, in an
// array that grows past its spare elements, are all set.
func TestManyStrings(t *testing.T) {
	t.Parallel()
	var want []string
	for i := range 3*maxPending + 1 {
		want = append(want, fmt.Sprintf("s%d", i))
	}
	data, err := json.Marshal(want)
	require.NoError(t, err)
	d := New(data)
	var spare [2]string
	d.Spare(spare[:])
	var got []string
	Strings(&d, &got)
	require.NoError(t, d.End())
	require.Equal(t, want, got)
	require.Equal(t, []string{"s0", "s1"}, spare[:], "the first elements, set before the array grew")
}

// TestRaw: raw values are copies, each capped at its length so that
// appending to one leaves the next alone, however many there are.
func TestRaw(t *testing.T) {
	t.Parallel()
	var want []string
	var data strings.Builder
	data.WriteString("[")
	for i := range 40 {
		if i > 0 {
			data.WriteString(",")
		}
		v := fmt.Sprintf(`{"n":%d,"s":"%s"}`, i, strings.Repeat("x", i*3))
		want = append(want, v)
		data.WriteString(v)
	}
	data.WriteString(`,null]`)
	want = append(want, "null")
	input := []byte(data.String())
	d := New(input)
	var got []json.RawMessage
	require.Equal(t, byte('['), d.Peek())
	// Decode the array's elements by hand, as Raw values.
	d.i++
	for {
		var r json.RawMessage
		Raw(&d, &r)
		got = append(got, r)
		d.space()
		if d.data[d.i] == ']' {
			d.i++
			break
		}
		d.i++ // ','
		d.space()
	}
	require.NoError(t, d.End())
	require.Len(t, got, len(want))
	for i := range got {
		require.Equal(t, want[i], string(got[i]))
		require.Equal(t, len(got[i]), cap(got[i]))
	}
	got[0] = append(got[0], "clobber"...)
	require.Equal(t, want[1], string(got[1]))
	clear(input)
	require.Equal(t, want[2], string(got[2]), "a copy, not the input")
}

type registered struct{ A string }

func TestRegistry(t *testing.T) {
	t.Parallel()
	require.Nil(t, Lookup[struct{ unregistered int }]())
	Register(func(b []byte, i, depth int, carried Carried) (*registered, int, error) {
		v := new(registered)
		d := NewAt(b, i, depth, carried)
		d.Object(func(name []byte) {
			if Match(name, []string{"a"}) == "a" {
				String(&d, &v.A)
				return
			}
			d.Skip()
		})
		end, err := d.Done()
		return v, end, err
	})
	decode := Lookup[registered]()
	require.NotNil(t, decode)
	doc := []byte(`[{"A":"x"},1]`)
	v, end, err := decode(doc, 1, 1, Carried{})
	require.NoError(t, err)
	require.Equal(t, 10, end)
	require.Equal(t, "x", v.A)
}

// TestObjectOf: members are matched to fields whether or not they come in
// the fields' order, exactly or else case-insensitively, escaped or not,
// as Match matches them; a name that merely starts like the field
// expected next is not taken for it.
func TestObjectOf(t *testing.T) {
	t.Parallel()
	fields := NewFields("id", "name", "tags")
	tests := []struct {
		data string
		want []int // the field of each member, in order
		err  bool
	}{
		{`{"id":1,"name":2,"tags":3}`, []int{0, 1, 2}, false},
		{`{"tags":1,"id":2,"name":3}`, []int{2, 0, 1}, false},
		{`{"id":1,"tags":2}`, []int{0, 2}, false},
		{`{ "id" : 1 , "name"	:2 }`, []int{0, 1}, false},
		{`{"idx":1,"id":2,"i":3,"name":4}`, []int{-1, 0, -1, 1}, false},
		{`{"ID":1,"Name":2,"TAGS":3}`, []int{0, 1, 2}, false},
		{`{"\u0069d":1,"n\u0061me":2}`, []int{0, 1}, false},
		{`{"id":1,"id":2,"name":3,"name":4}`, []int{0, 0, 1, 1}, false},
		{`{"other":1,"id":2}`, []int{-1, 0}, false},
		{`{}`, nil, false},
		{`null`, nil, false},
		{`{"id" 1}`, nil, true},
		{`{"id":1,}`, []int{0}, true},
		{`{"id":1 "name":2}`, []int{0}, true},
		{`{"id`, nil, true},
		{`[]`, nil, true},
	}
	for _, tt := range tests {
		d := New([]byte(tt.data))
		var got []int
		d.ObjectOf(fields, func(i int) {
			got = append(got, i)
			d.Skip()
		})
		if tt.err {
			require.Error(t, d.End(), tt.data)
		} else {
			require.NoError(t, d.End(), tt.data)
		}
		require.Equal(t, tt.want, got, tt.data)

		// Object, with Match, sees the same members.
		d = New([]byte(tt.data))
		var viaMatch []int
		d.Object(func(name []byte) {
			i := -1
			for j, n := range fields.Names() {
				if Match(name, fields.Names()) == n {
					i = j
				}
			}
			viaMatch = append(viaMatch, i)
			d.Skip()
		})
		require.Equal(t, got, viaMatch, tt.data)
	}
}

// TestSpare: the first array of strings decoded into an empty slice gets
// the spare elements, capped so that an append copies them, and the values
// are those decoded without spare memory.
func TestSpare(t *testing.T) {
	t.Parallel()
	data := []byte(`{"s1":["x","y"],"s2":["z"]}`)
	decode := func(d *Decoder) (lists [][]string) {
		d.Object(func([]byte) {
			var s []string
			Strings(d, &s)
			lists = append(lists, s)
		})
		require.NoError(t, d.End())
		return lists
	}
	plain := New(data)
	wantLists := decode(&plain)

	var strSpare [4]string
	d := New(data)
	d.Spare(strSpare[:])
	lists := decode(&d)
	require.Equal(t, wantLists, lists)
	require.Same(t, &strSpare[0], &lists[0][0], "the first list, in the spare elements")
	require.Equal(t, 2, cap(lists[0]))
	require.NotSame(t, &strSpare[0], &lists[1][0], "the spare elements are used once")
	lists[0] = append(lists[0], "appended")
	require.Empty(t, strSpare[2], "an append copies")
}

// TestShareInput: raw values alias the input with ShareInput, capped so
// that an append copies them, and are copies without it.
func TestShareInput(t *testing.T) {
	t.Parallel()
	data := []byte(`{"a":[1, 2],"b":"x"}`)
	decode := func(share bool) (raws []json.RawMessage) {
		d := New(data)
		if share {
			d.ShareInput()
		}
		d.Object(func([]byte) {
			var r json.RawMessage
			Raw(&d, &r)
			raws = append(raws, r)
		})
		require.NoError(t, d.End())
		return raws
	}
	copied, shared := decode(false), decode(true)
	require.Equal(t, copied, shared)
	require.Equal(t, `[1, 2]`, string(shared[0]))
	require.Same(t, &data[5], &shared[0][0], "shared: in the input")
	require.NotSame(t, &data[5], &copied[0][0], "copied")
	require.Equal(t, len(shared[0]), cap(shared[0]), "an append copies")
}
