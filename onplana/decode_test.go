package onplana_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/jsondec"
	"github.com/onplana/webhook/internal/jsonscan"
	"github.com/onplana/webhook/onplana"
)

// decoderCase decodes data with a payload type's UnmarshalJSON and with
// encoding/json into its plain twin, and returns both results as the
// payload type.
type decoderCase struct {
	name   string
	decode func(data []byte) (fast, plain any, fastErr, plainErr error)
}

var decoderCases = []decoderCase{
	{"ProjectEventData", func(data []byte) (any, any, error, error) {
		var fast onplana.ProjectEventData
		var plain plainProjectEvent
		fe, pe := fast.UnmarshalJSON(data), json.Unmarshal(data, &plain)
		return fast, onplana.ProjectEventData(plain), fe, pe
	}},
	{"TaskEventData", func(data []byte) (any, any, error, error) {
		var fast onplana.TaskEventData
		var plain plainTaskEvent
		fe, pe := fast.UnmarshalJSON(data), json.Unmarshal(data, &plain)
		return fast, onplana.TaskEventData(plain), fe, pe
	}},
	{"MilestoneEventData", func(data []byte) (any, any, error, error) {
		var fast onplana.MilestoneEventData
		var plain plainMilestoneEvent
		fe, pe := fast.UnmarshalJSON(data), json.Unmarshal(data, &plain)
		return fast, onplana.MilestoneEventData(plain), fe, pe
	}},
	{"CommentEventData", func(data []byte) (any, any, error, error) {
		var fast onplana.CommentEventData
		var plain plainCommentEvent
		fe, pe := fast.UnmarshalJSON(data), json.Unmarshal(data, &plain)
		return fast, onplana.CommentEventData(plain), fe, pe
	}},
	{"MemberEventData", func(data []byte) (any, any, error, error) {
		var fast onplana.MemberEventData
		var plain plainMemberEvent
		fe, pe := fast.UnmarshalJSON(data), json.Unmarshal(data, &plain)
		return fast, onplana.MemberEventData(plain), fe, pe
	}},
}

// requireSameDecoding checks the contract of the UnmarshalJSON methods on
// data: an error exactly when encoding/json has one (always for bytes that
// are not JSON), and otherwise the same value.
func requireSameDecoding(t *testing.T, data []byte) {
	t.Helper()
	valid := json.Valid(data)
	for _, c := range decoderCases {
		fast, plain, fastErr, plainErr := c.decode(data)
		if !valid {
			require.Error(t, fastErr, "%s accepted invalid JSON %q", c.name, data)
			continue
		}
		if plainErr != nil {
			require.Error(t, fastErr, "%s: encoding/json refuses %q (%v)", c.name, data, plainErr)
			continue
		}
		require.NoError(t, fastErr, "%s: encoding/json accepts %q", c.name, data)
		require.Equal(t, plain, fast, "%s of %q", c.name, data)
	}
}

// TestDecodersMatchEncodingJSONOnSamples decodes the data of every sample
// of the catalog both ways.
func TestDecodersMatchEncodingJSONOnSamples(t *testing.T) {
	t.Parallel()
	for _, info := range onplana.Catalog() {
		t.Run(string(info.Type), func(t *testing.T) {
			e, err := webhook.ParseEvent(info.Sample)
			require.NoError(t, err)
			requireSameDecoding(t, e.Data)
		})
	}
}

// TestDecodersMatchEncodingJSON covers what samples do not hold: the
// leniencies of encoding/json (key case, null, escapes, invalid UTF-8,
// repeated keys) and the values of the wrong type it refuses.
func TestDecodersMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, data := range decoderSeeds {
		requireSameDecoding(t, []byte(data))
	}
}

var decoderSeeds = []string{
	`{}`, `null`, ` { } `, `[]`, `"task"`, `5`, `true`, `{"task":null,"diff":null,"actor":null}`,
	`{"TASK":{"TITLE":"upper"},"Project":{"Name":"mixed"},"Milestone":{"nAmE":"m"}}`,
	`{"ſtatus":"long s folds to S"}`, `{"task":{"ſtatus":"done","K":"kelvin"}}`,
	`{"task":{"title":"a"},"task":{"status":"done"}}`,
	`{"task":{"title":"tab\tnewline\n \u00e9 \ud83d\ude00 \ud800 lone"}}`,
	"{\"task\":{\"title\":\"invalid \xff utf-8\"}}",
	`{"t\u0061sk":{"title":"escaped key"}}`,
	`{"task":{"assignee_ids":[]}}`, `{"task":{"assignee_ids":null}}`, `{"task":{"assignee_ids":["a",null,"b"]}}`,
	`{"task":{"assignee_ids":"a"}}`, `{"task":{"assignee_ids":[1]}}`, `{"task":{"assignee_ids":[["a"]]}}`,
	`{"task":{"title":5}}`, `{"task":{"title":true}}`, `{"task":{"title":{}}}`, `{"task":{"title":[]}}`,
	`{"task":5}`, `{"task":"x"}`, `{"task":[]}`, `{"actor":5}`, `{"actor":{}}`, `{"actor":{"type":"user","extra":[1,{"a":null}]}}`,
	`{"task":{"created_at":"2026-06-27T09:15:23Z","updated_at":null}}`,
	`{"task":{"created_at":"2026-06-27 09:15:23"}}`, `{"task":{"created_at":5}}`, `{"task":{"created_at":{}}}`,
	`{"task":{"created_at":"2026-06-27T09:15:23.123456789+02:00"}}`, `{"task":{"created_at":"\u0032026-06-27T09:15:23Z"}}`,
	`{"diff":{}}`, `{"diff":[]}`, `{"diff":5}`, `{"diff":{"a":null}}`, `{"diff":{"a":5}}`, `{"diff":{"a":[]}}`,
	`{"diff":{"a":{"before":null,"after":"x"}}}`, `{"diff":{"a":{"Before":1,"AFTER":[1,2],"other":{}}}}`,
	`{"diff":{"a":{"before":1},"a":{"after":2}}}`, `{"diff":{"\u00e9t\u00e9":{"before":{"x":[true]}}}}`,
	`{"member":{"role":"ADMIN","scope":"project"},"diff":{"role":{"before":"MEMBER","after":"ADMIN"}}}`,
	`{"comment":{"mention_ids":["u1"],"body":"**hi**"}}`,
	`{"unknown":{"deep":[[[[{"x":1e10}]]]]},"task":{"unknown":-0.5e-3}}`,
	`{"task":{"title":"a"}} x`, `{"task":`, `{"task":{"title":"unterminated}}`, `{"a" 1}`, `{,}`, `{"a":1,}`,
	`{"task":{"title":"\x01control"}}`, `{"task":{"title":"bad \q escape"}}`,
}

// TestDecodersKnowEveryField fills every field of every payload type,
// encodes it, and requires the fast decoder to read back what
// encoding/json reads: a field added to a type but not to its decoder
// fails here.
func TestDecodersKnowEveryField(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		&onplana.ProjectEventData{}, &onplana.TaskEventData{}, &onplana.MilestoneEventData{},
		&onplana.CommentEventData{}, &onplana.MemberEventData{},
	} {
		fill(reflect.ValueOf(v).Elem(), "v")
		data, err := json.Marshal(v)
		require.NoError(t, err)
		requireSameDecoding(t, data)

		fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		require.NoError(t, fresh.(json.Unmarshaler).UnmarshalJSON(data))
		require.Equal(t, v, fresh, "every field round-trips")
	}
}

// fill sets every field of v, recursively, to a non-zero value derived from
// its path.
func fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[onplana.Changes]() {
			c, err := onplana.NewChanges(map[string]onplana.FieldChange{path + ".key": {Before: json.RawMessage(`"` + path + `.before"`)}})
			if err != nil {
				panic(err)
			}
			v.Set(reflect.ValueOf(c))
			return
		}
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 6, 27, 9, 15, len(path)%60, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), path+"."+strings.ToLower(v.Type().Field(i).Name))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`"` + path + `"`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), path+"[0]")
		fill(v.Index(1), path+"[1]")
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, path+"{}")
		m.SetMapIndex(reflect.ValueOf(path+".key"), e)
		v.Set(m)
	default:
		panic("fill: unexpected kind " + v.Kind().String())
	}
}

// sampleData returns the data of every sample of the catalog.
func sampleData(tb testing.TB) [][]byte {
	tb.Helper()
	var all [][]byte
	for _, info := range onplana.Catalog() {
		e, err := webhook.ParseEvent(info.Sample)
		require.NoError(tb, err, info.Type)
		all = append(all, e.Data)
	}
	return all
}

// addDecoderSeeds seeds f's corpus with decoderSeeds and the catalog's
// sample data.
func addDecoderSeeds(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	for _, data := range sampleData(f) {
		f.Add(data)
	}
}

// FuzzPayloadDecoders checks the decoders against encoding/json on any
// input.
func FuzzPayloadDecoders(f *testing.F) {
	addDecoderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSameDecoding(t, data)
	})
}

// atCase decodes the data object that starts at doc[at], inside an
// envelope, with a payload type's registered decoder (what webhook.Router
// does while the receiver parses the envelope), and the same bytes with
// its UnmarshalJSON.
type atCase struct {
	name   string
	decode func(doc []byte, at int) (atVal, plainVal any, end int, atErr, plainErr error)
	// unmarshal decodes data with UnmarshalJSON into a new value.
	unmarshal func(data []byte) error
}

func atCaseOf[T any, PT interface {
	*T
	json.Unmarshaler
}](name string) atCase {
	return atCase{name, func(doc []byte, at int) (any, any, int, error, error) {
		decode := jsondec.Lookup[T]()
		if decode == nil {
			panic("no decoder registered for " + name)
		}
		var plainVal T
		atVal, end, err := decode(doc, at, 1, jsondec.Carried{})
		if err != nil {
			return nil, nil, 0, err, nil
		}
		err = PT(&plainVal).UnmarshalJSON(doc[at:end])
		return *atVal, plainVal, end, nil, err
	}, func(data []byte) error { return PT(new(T)).UnmarshalJSON(data) }}
}

var atCases = []atCase{
	atCaseOf[onplana.ProjectEventData]("ProjectEventData"),
	atCaseOf[onplana.TaskEventData]("TaskEventData"),
	atCaseOf[onplana.MilestoneEventData]("MilestoneEventData"),
	atCaseOf[onplana.CommentEventData]("CommentEventData"),
	atCaseOf[onplana.MemberEventData]("MemberEventData"),
}

// requireSameDecodingAt checks the decoding of data as the "data" field of
// an envelope: where the registered decoder succeeds, the object it read
// is exactly the value jsonscan.Value finds there (so the receiver may
// take it as validated) and UnmarshalJSON reads the same value from it;
// where it fails, the object is not valid JSON there, or UnmarshalJSON
// fails on it too.
func requireSameDecodingAt(t *testing.T, data []byte) {
	t.Helper()
	doc := append(append([]byte(`{"event":"task.updated","data":`), data...), '}')
	at := len(`{"event":"task.updated","data":`)
	if len(data) == 0 || data[0] != '{' {
		return // the envelope parser refuses data that is not an object before decoding
	}
	end, verr := jsonscan.Value(doc, at, 1)
	for _, c := range atCases {
		atVal, plainVal, atEnd, atErr, plainErr := c.decode(doc, at)
		if atErr != nil {
			if verr == nil {
				require.Error(t, c.unmarshal(doc[at:end]),
					"%s: the decoder in place refuses valid %q (%v), UnmarshalJSON accepts it", c.name, doc[at:end], atErr)
			}
			continue
		}
		require.NoError(t, verr, "%s: the decoder in place accepts %q, which is not valid there", c.name, doc)
		require.Equal(t, end, atEnd, "%s: %q", c.name, doc)
		require.NoError(t, plainErr, "%s: UnmarshalJSON refuses %q", c.name, doc[at:atEnd])
		require.Equal(t, plainVal, atVal, "%s of %q", c.name, data)
	}
}

func TestDecodersInPlace(t *testing.T) {
	t.Parallel()
	for _, s := range decoderSeeds {
		requireSameDecodingAt(t, []byte(s))
	}
	for _, data := range sampleData(t) {
		requireSameDecodingAt(t, data)
	}
	deep := `{"x":` + strings.Repeat("[", jsonscan.MaxDepth-2) + strings.Repeat("]", jsonscan.MaxDepth-2) + `}`
	requireSameDecodingAt(t, []byte(deep))
	requireSameDecodingAt(t, []byte(`{"x":[`+deep+`]}`))
}

// FuzzPayloadDecodersInPlace checks the registered decoders, which read
// an envelope's data in place, against jsonscan.Value and UnmarshalJSON.
func FuzzPayloadDecodersInPlace(f *testing.F) {
	addDecoderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSameDecodingAt(t, data)
	})
}
