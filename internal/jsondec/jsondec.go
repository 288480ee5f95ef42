// Package jsondec decodes JSON into Go values in one pass and without
// reflection, for the hand-written UnmarshalJSON methods of the payload
// types of package onplana.
//
// Its decoders give the result encoding/json gives for the same Go types:
// object keys match a field exactly or else case-insensitively, unknown
// keys are skipped, null leaves a string, struct or time unchanged and sets
// a slice, map or pointer to nil, strings with escapes or invalid UTF-8 are
// decoded by encoding/json itself, and a value of the wrong JSON type is an
// error. Unlike encoding/json, a Decoder stops at the first error, so the
// value being decoded is then partly set.
//
// A Decoder validates what it reads: given bytes that are not JSON, it
// returns an error, never panics, and does work linear in their length.
package jsondec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/onplana/webhook/internal/jsonscan"
	"github.com/onplana/webhook/internal/rfc3339"
)

// Decoder reads one JSON value from its input. Its methods decode the next
// value into their argument; after the first error they do nothing, and
// Err reports it.
//
// The strings it decodes are set when it is done (End, Done), not before:
// those without escapes wait until then, to be copied together into one
// string, one allocation rather than one per field, which is most of the
// cost of decoding a payload. A string kept from the result therefore
// keeps the others alive. Raw values are copied into a buffer of their
// own, grown as needed, which they share, unless the input can be shared
// (ShareInput).
type Decoder struct {
	data  []byte
	i     int
	depth int // containers open around the value at i
	err   error
	raws  []byte   // where Raw copies values; full at its capacity
	strs  []string // spare elements for an array of strings (Spare)

	// The plain strings decoded and not yet set, in the order decoded, so
	// that the last of two for one destination wins.
	pending  [maxPending]Span
	npending int

	shareInput bool // raw values alias data (ShareInput)
}

// New returns a Decoder reading data.
func New(data []byte) Decoder {
	d := Decoder{data: data}
	d.space()
	return d
}

// NewAt returns a Decoder reading the value that starts at data[i] (not
// at whitespace), nested in depth arrays and objects of data, as
// jsonscan.Value scans it: the decoding of a value inside a document
// already being parsed. Done then tells where the value ended, and sets
// the strings of the document that carried holds with the Decoder's own.
// The Decoder's strings copy no byte of data but theirs.
func NewAt(data []byte, i, depth int, carried Carried) Decoder {
	d := Decoder{data: data, i: i, depth: depth}
	d.npending = copy(d.pending[:], carried.Spans())
	return d
}

// Carried holds up to five strings of a document, as spans of its bytes,
// for a Decoder of a value inside it (NewAt) to set with its own, in the
// same allocation: the fields of an envelope with those of its data. The
// zero Carried holds none.
type Carried struct {
	spans [5]Span
	n     int
}

// Add adds sp and reports whether there was room for it.
func (c *Carried) Add(sp Span) bool {
	if c.n == len(c.spans) {
		return false
	}
	c.spans[c.n] = sp
	c.n++
	return true
}

// Spans returns the spans held, in the order added.
func (c *Carried) Spans() []Span { return c.spans[:c.n] }

// Spare gives d the elements for the first array of strings decoded into
// a slice without capacity, to use before it allocates any. The slice
// decoded then shares that memory, and keeps it alive, as strings share
// the Decoder's copy of its input: a caller allocating the destination of
// a decoding can allocate that memory with it, in one piece.
func (d *Decoder) Spare(strs []string) {
	d.strs = strs
}

// ShareInput has the raw values that d decodes (Raw, RawFrom) alias its
// input instead of copying it: for input that nobody modifies and that
// outlives the values anyway, such as the verified body of a delivery,
// which the event's Data holds. Strings are still copied: a string must
// never change, and the input is not the Decoder's to guarantee that.
func (d *Decoder) ShareInput() { d.shareInput = true }

// Pos returns the index in the input after what has been decoded.
func (d *Decoder) Pos() int { return d.i }

// Err returns the first error, or nil.
func (d *Decoder) Err() error { return d.err }

// Done sets the strings decoded, and returns Pos and Err: the end of a
// decoding that NewAt started. After an error, the strings decoded before
// it are set too: the value is partly set.
func (d *Decoder) Done() (end int, err error) {
	d.setPending()
	return d.i, d.err
}

// End sets the strings decoded, checks that nothing but whitespace follows
// the value decoded, and returns Err: the end of a decoding that New
// started.
func (d *Decoder) End() error {
	d.setPending()
	if d.err == nil {
		d.space()
		if d.i != len(d.data) {
			d.fail("data after the value")
		}
	}
	return d.err
}

func (d *Decoder) space() { d.i = jsonscan.Space(d.data, d.i) }

func (d *Decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("jsondec: %s at offset %d", msg, d.i)
	}
}

// failType records a value of the wrong JSON type for a Go type.
func (d *Decoder) failType(want string) {
	if d.err == nil {
		d.err = fmt.Errorf("jsondec: cannot decode %s into %s at offset %d", d.kind(), want, d.i)
	}
}

// kind names the JSON type of the value at i, as encoding/json's
// UnmarshalTypeError does.
func (d *Decoder) kind() string {
	if d.i >= len(d.data) {
		return "end of input"
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	}
	return "number"
}

// Peek returns the first byte of the next value: '{' for an object, 'n'
// for null and so on; 0 at the end of the input or after an error.
func (d *Decoder) Peek() byte { return d.peek() }

func (d *Decoder) peek() byte {
	if d.err == nil && d.i < len(d.data) {
		return d.data[d.i]
	}
	return d.peekEnd()
}

// peekEnd is peek after an error or at the end of the input, which is one.
// It is kept apart so that peek, called for every value, is inlined.
//
//go:noinline
func (d *Decoder) peekEnd() byte {
	if d.err == nil {
		d.fail("unexpected end of input")
	}
	return 0
}

// Null consumes a null and reports whether there was one.
func (d *Decoder) Null() bool {
	if d.peek() != 'n' {
		return false
	}
	if len(d.data)-d.i < 4 || string(d.data[d.i:d.i+4]) != "null" {
		d.fail("invalid value")
		return false
	}
	d.i += 4
	return true
}

// Skip moves past the next value, validating it.
func (d *Decoder) Skip() {
	d.raw()
}

// raw moves past the next value, validating it, and returns its bytes.
func (d *Decoder) raw() []byte {
	var end int
	var err error
	switch d.peek() {
	case 0:
		return nil
	case '"': // the common case, a string, without Value's bookkeeping
		end, _, err = jsonscan.StringFlags(d.data, d.i)
	default:
		end, err = jsonscan.Value(d.data, d.i, d.depth)
	}
	start := d.i
	if err != nil {
		d.i = end
		d.fail(err.Error())
		return nil
	}
	d.i = end
	return d.data[start:end]
}

// Object calls field for each member of the object that is the next value,
// with the member's name (unescaped; it aliases the input or a scratch
// buffer and must not be kept), positioned on the member's value; field
// must decode or skip that value. Object reports whether the value was an
// object: null is not, and leaves the caller's value unchanged; any other
// value is an error.
func (d *Decoder) Object(field func(name []byte)) bool {
	if obj, members := d.openObject(); !members {
		return obj
	}
	for d.err == nil {
		name := d.name()
		if d.err != nil {
			break
		}
		field(name)
		if d.err != nil {
			break
		}
		if d.close() {
			return true
		}
	}
	return false
}

// Fields are the JSON names of the fields of a struct type, in the order
// its encoder writes them, for ObjectOf.
type Fields struct {
	names  []string
	quoted []string // each name between quotes, as it appears unescaped
}

// NewFields returns the Fields of names.
func NewFields(names ...string) *Fields {
	f := &Fields{names: names, quoted: make([]string, len(names))}
	for i, n := range names {
		f.quoted[i] = `"` + n + `"`
	}
	return f
}

// Names returns the names, in order.
func (f *Fields) Names() []string { return f.names }

// index returns the index of the name that key matches, as Match does,
// or -1.
func (f *Fields) index(key []byte) int {
	for i, n := range f.names {
		if string(key) == n {
			return i
		}
	}
	for i, n := range f.names {
		if bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return -1
}

// ObjectOf is Object for an object decoded into a struct whose fields are
// f: it calls field with the index in f of the name that a member's name
// matches (exactly, or else case-insensitively, as Match), or -1 when it
// matches none. field must decode or skip the member's value.
//
// An encoder writes a struct's fields in order, so ObjectOf first checks
// whether a member is the field after the one before, by comparing the
// bytes of its name with that field's: the common case then costs no scan
// of the name and no search.
func (d *Decoder) ObjectOf(f *Fields, field func(i int)) bool {
	if obj, members := d.openObject(); !members {
		return obj
	}
	next := 0 // the field expected next
	for d.err == nil {
		i := -1
		if next < len(f.quoted) && d.member(f.quoted[next]) {
			i = next
		} else {
			name := d.name()
			if d.err != nil {
				break
			}
			i = f.index(name)
		}
		if i >= 0 {
			next = i + 1
		}
		field(i)
		if d.err != nil {
			break
		}
		if d.close() {
			return true
		}
	}
	return false
}

// member reports whether the member at i has the name whose quoted,
// unescaped form is quoted, and if so moves past its name and colon, and
// the space after.
func (d *Decoder) member(quoted string) bool {
	end := d.i + len(quoted)
	if end > len(d.data) || string(d.data[d.i:end]) != quoted {
		return false
	}
	j := jsonscan.Space(d.data, end)
	if j >= len(d.data) || d.data[j] != ':' {
		return false // name() reports the error
	}
	d.i = jsonscan.Space(d.data, j+1)
	return true
}

// openObject moves into the object at i, past the space after its '{',
// and reports whether there is an object there and whether a member
// follows: past the '}' of an empty one, it reports none. There is no
// object for null, which it consumes, leaving the value unchanged; for
// another value, an error; or after an error.
func (d *Decoder) openObject() (obj, members bool) {
	switch d.peek() {
	case '{':
	case 'n':
		d.Null()
		return false, false
	case 0:
		return false, false
	default:
		d.failType("object")
		return false, false
	}
	if d.depth >= jsonscan.MaxDepth {
		d.fail(jsonscan.ErrDepth.Error())
		return false, false
	}
	d.depth++
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return true, false
	}
	return true, true
}

// close moves past the ',' after a member, and the space after it, and
// reports false; or past the '}' that ends the object, and reports true.
// Anything else is an error.
func (d *Decoder) close() bool {
	d.space()
	if d.i < len(d.data) && d.data[d.i] == ',' {
		d.i++
		d.space()
		return false
	}
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	d.fail(jsonscan.ErrObjectEnd.Error())
	return false
}

// name reads a member's name and colon, and the space after it.
func (d *Decoder) name() []byte {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		d.fail(jsonscan.ErrName.Error())
		return nil
	}
	name, ok := d.stringBytes()
	if !ok {
		return nil
	}
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != ':' {
		d.fail(jsonscan.ErrColon.Error())
		return nil
	}
	d.i++
	d.space()
	return name
}

// stringBytes reads the string at i. Without escapes, and if it is valid
// UTF-8, the result aliases the input; otherwise encoding/json decodes it,
// so that escapes and invalid UTF-8 turn out as they do there.
func (d *Decoder) stringBytes() (b []byte, ok bool) {
	start := d.i
	end, flags, err := jsonscan.StringFlags(d.data, d.i)
	d.i = end
	if err != nil {
		d.fail(err.Error())
		return nil, false
	}
	if raw := d.data[start+1 : end-1]; jsonscan.Verbatim(flags, raw) {
		return raw, true
	}
	return d.unescape(start+1, end-1)
}

// unescape decodes the string whose bytes between the quotes are
// data[lo:hi], scanned and not verbatim, as encoding/json does.
func (d *Decoder) unescape(lo, hi int) ([]byte, bool) {
	var s string
	if err := json.Unmarshal(d.data[lo-1:hi+1], &s); err != nil {
		d.fail("invalid string")
		return nil, false
	}
	return []byte(s), true
}

// Match returns the name in names that key matches: exactly, or else
// case-insensitively, as encoding/json matches struct fields. It returns ""
// when none does.
func Match(key []byte, names []string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return n
		}
	}
	return ""
}

// String decodes a string into dst, which is set when d is done (End,
// Done); null leaves dst unchanged. For a field of a named string type,
// pass (*string)(&field).
func String(d *Decoder, dst *string) {
	switch d.peek() {
	case '"':
		// stringBytes, written out for the common case: String defers the
		// copy of a verbatim string.
		start := d.i
		end, flags, err := jsonscan.StringFlags(d.data, d.i)
		d.i = end
		if err != nil {
			d.fail(err.Error())
			return
		}
		if jsonscan.Verbatim(flags, d.data[start+1:end-1]) {
			d.setLater(dst, start+1, end-1)
			return
		}
		if b, ok := d.unescape(start+1, end-1); ok {
			// Set now, so after the strings pending: one of them may be
			// for dst, from an earlier member of the same name.
			d.setPending()
			*dst = string(b)
		}
	case 'n':
		d.Null()
	case 0:
	default:
		d.failType("string")
	}
}

// Strings decodes an array of strings into dst as encoding/json decodes a
// slice: null sets it to nil, [] to a new empty slice, and otherwise the
// elements are decoded into dst's backing array, grown as needed.
func Strings(d *Decoder, dst *[]string) {
	switch d.peek() {
	case '[':
	case 'n':
		d.Null()
		*dst = nil
		return
	case 0:
		return
	default:
		d.failType("array")
		return
	}
	if d.depth >= jsonscan.MaxDepth {
		d.fail(jsonscan.ErrDepth.Error())
		return
	}
	d.depth++
	d.i++
	d.space()
	s := (*dst)[:0]
	spare := cap(s) == 0 && len(d.strs) > 0
	if spare {
		s, d.strs = d.strs[:0], nil // used once, so that no two slices share it
	}
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		d.depth--
		*dst = []string{}
		return
	}
	for d.err == nil {
		// Like encoding/json, reuse an element of the backing array as is:
		// a null element leaves it unchanged.
		if len(s) < cap(s) {
			s = s[:len(s)+1]
		} else {
			if len(s) > 0 {
				// The strings pending for the elements so far go where
				// append copies them from.
				d.setPending()
			}
			s = append(s, "")
		}
		String(d, &s[len(s)-1])
		d.space()
		if d.i < len(d.data) && d.data[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			d.depth--
			if spare {
				s = s[:len(s):len(s)] // an append to the result copies it
			}
			*dst = s
			return
		}
		d.fail(jsonscan.ErrArrayEnd.Error())
	}
}

// Time decodes the next value as time.Time's UnmarshalJSON does, as
// encoding/json does: an RFC 3339 string, or null for no change.
func Time(d *Decoder, dst *time.Time) {
	raw := d.raw()
	if d.err != nil {
		return
	}
	if len(raw) >= 2 && raw[0] == '"' {
		// UnmarshalJSON parses the bytes between the quotes as they are.
		if t, err := rfc3339.Parse(raw[1 : len(raw)-1]); err == nil {
			*dst = t
			return
		}
	}
	if err := dst.UnmarshalJSON(raw); err != nil {
		d.err = err
	}
}

// Raw copies the next value, whatever it is, into dst as
// json.RawMessage's UnmarshalJSON does (null included).
func Raw(d *Decoder, dst *json.RawMessage) {
	start := d.i
	d.raw()
	RawFrom(d, start, dst)
}

// RawFrom sets *dst to the input from start, a position Pos returned
// before the value just decoded, to the end of that value, as Raw sets a
// value: for a value that had to be decoded (to validate its structure)
// before it is kept raw. It does nothing after an error.
func RawFrom(d *Decoder, start int, dst *json.RawMessage) {
	if d.err != nil {
		return
	}
	v := d.data[start:d.i:d.i]
	if d.shareInput {
		*dst = v
		return
	}
	if cap(d.raws)-len(d.raws) < len(v) {
		// The raw values of a payload are few and small (a diff's before
		// and after): start small, double as needed.
		d.raws = make([]byte, 0, max(2*cap(d.raws), len(v), minRaws))
	}
	lo := len(d.raws)
	d.raws = append(d.raws, v...)
	*dst = d.raws[lo:len(d.raws):len(d.raws)]
}

// minRaws is the size of the first buffer of raw values.
const minRaws = 128

// maxPending is how many plain strings a Decoder holds before it sets
// them: more than a payload type of package onplana has.
const maxPending = 24

// setLater has *dst set to data[lo:hi] by setPending.
func (d *Decoder) setLater(dst *string, lo, hi int) {
	if d.npending == len(d.pending) {
		d.setPending()
	}
	d.pending[d.npending] = Span{Dst: dst, Lo: lo, Hi: hi}
	d.npending++
}

// setPending sets the strings pending, in one allocation.
func (d *Decoder) setPending() {
	SetSpans(d.data, d.pending[:d.npending])
	d.npending = 0
}

// Span is a string whose value is the bytes b[Lo:Hi] of some input b as
// they are, to be stored in *Dst by SetSpans.
type Span struct {
	Dst    *string
	Lo, Hi int
}

// SetSpans sets the destination of each span, in order, to its bytes of b,
// all copied into one string: one allocation, however many spans.
func SetSpans(b []byte, spans []Span) {
	n := 0
	for _, sp := range spans {
		n += sp.Hi - sp.Lo
	}
	var all strings.Builder
	all.Grow(n)
	for _, sp := range spans {
		all.Write(b[sp.Lo:sp.Hi])
	}
	s := all.String()
	for _, sp := range spans {
		*sp.Dst, s = s[:sp.Hi-sp.Lo], s[sp.Hi-sp.Lo:]
	}
}
