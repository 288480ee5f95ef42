package webhook

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of a decoded envelope, as encoding/json
// does, so a body of ten thousand '[' cannot exhaust the stack.
const maxJSONDepth = 10000

// ParseEvent decodes a delivery envelope. It decodes only the top-level
// fields and keeps data raw: e.Data is the exact bytes of the "data" object,
// sharing memory with body (copy body first if it will be modified).
//
// The whole body must be one valid JSON object. delivery_id, event_id, event,
// timestamp (RFC 3339) and organization_id must be non-empty strings and data
// must be an object; project_id is optional. Unknown fields are allowed so
// that a sender may add fields, and unknown event types are accepted so that
// a receiver keeps working when the catalog grows: route on e.Type.
//
// ParseEvent is stricter than encoding/json where leniency could let two
// parsers read different events from the same signed bytes: field names
// match exactly (not case-insensitively) and a repeated top-level field is
// an error. Every error wraps ErrInvalidEnvelope. ParseEvent never panics,
// whatever body holds, and its work is linear in len(body).
func ParseEvent(body []byte) (*Event, error) {
	p := envelopeParser{b: body}
	e, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidEnvelope, err.reason())
	}
	return e, nil
}

// envelopeError describes why a body is not an envelope. It is a value, not
// an allocated error, until ParseEvent formats it.
type envelopeError struct {
	msg string
	off int // byte offset, or -1 when the position does not help
}

func (e *envelopeError) reason() string {
	if e.off < 0 {
		return e.msg
	}
	return fmt.Sprintf("%s at offset %d", e.msg, e.off)
}

// envelopeParser is a validating scanner for the envelope. It does what
// json.Unmarshal into a struct with a json.RawMessage field would do, in one
// pass and without reflection: decoding with encoding/json costs about ten
// HMACs of the same body, which would dominate the receiver's cost.
type envelopeParser struct {
	b []byte
	i int
}

// Bits of the fields seen, to reject repeats and report missing ones.
const (
	seenDeliveryID = 1 << iota
	seenEventID
	seenEvent
	seenTimestamp
	seenOrganizationID
	seenProjectID
	seenData
)

func (p *envelopeParser) fail(msg string) *envelopeError {
	return &envelopeError{msg: msg, off: p.i}
}

func (p *envelopeParser) parse() (*Event, *envelopeError) {
	var e Event
	p.skipSpace()
	if !p.consume('{') {
		return nil, p.fail("body is not a JSON object")
	}
	var seen int
	p.skipSpace()
	if !p.consume('}') {
		for {
			p.skipSpace()
			keyStart := p.i
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return nil, p.fail("expected a field name")
			}
			key, err := p.stringBytes()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if !p.consume(':') {
				return nil, p.fail("expected ':'")
			}
			p.skipSpace()
			bit, dst := e.field(key)
			if bit != 0 {
				if seen&bit != 0 {
					return nil, &envelopeError{msg: "repeated field " + quoteField(string(key)), off: keyStart}
				}
				seen |= bit
			}
			switch {
			case bit == seenData:
				start := p.i
				if p.i >= len(p.b) || p.b[p.i] != '{' {
					return nil, p.fail(`"data" is not an object`)
				}
				if err := p.skipValue(1); err != nil {
					return nil, err
				}
				e.Data = json.RawMessage(p.b[start:p.i:p.i])
			case bit == seenProjectID && p.hasPrefix("null"):
				p.i += len("null") // an organization-level event may say null
			case bit == seenTimestamp:
				if err := p.timestamp(&e.Timestamp); err != nil {
					return nil, err
				}
			case dst != nil:
				if p.i >= len(p.b) || p.b[p.i] != '"' {
					return nil, p.fail(quoteField(string(key)) + " is not a string")
				}
				s, err := p.stringValue()
				if err != nil {
					return nil, err
				}
				*dst = s
			default:
				if err := p.skipValue(1); err != nil {
					return nil, err
				}
			}
			p.skipSpace()
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				break
			}
			return nil, p.fail("expected ',' or '}'")
		}
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return nil, p.fail("data after the JSON object")
	}
	for _, f := range requiredFields {
		if seen&f.bit == 0 {
			return nil, &envelopeError{msg: "missing " + quoteField(f.name), off: -1}
		}
	}
	switch {
	case e.DeliveryID == "":
		return nil, &envelopeError{msg: `empty "delivery_id"`, off: -1}
	case e.ID == "":
		return nil, &envelopeError{msg: `empty "event_id"`, off: -1}
	case e.Type == "":
		return nil, &envelopeError{msg: `empty "event"`, off: -1}
	case e.OrganizationID == "":
		return nil, &envelopeError{msg: `empty "organization_id"`, off: -1}
	}
	return &e, nil
}

var requiredFields = []struct {
	bit  int
	name string
}{
	{seenDeliveryID, "delivery_id"},
	{seenEventID, "event_id"},
	{seenEvent, "event"},
	{seenTimestamp, "timestamp"},
	{seenOrganizationID, "organization_id"},
	{seenData, "data"},
}

// field maps an envelope field name to its bit and, for string fields, to
// where its value goes. Unknown names return 0, nil.
func (e *Event) field(name []byte) (int, *string) {
	switch string(name) { // compiled without converting name
	case "delivery_id":
		return seenDeliveryID, &e.DeliveryID
	case "event_id":
		return seenEventID, &e.ID
	case "event":
		return seenEvent, (*string)(&e.Type)
	case "timestamp":
		return seenTimestamp, nil
	case "organization_id":
		return seenOrganizationID, &e.OrganizationID
	case "project_id":
		return seenProjectID, &e.ProjectID
	case "data":
		return seenData, nil
	}
	return 0, nil
}

func (p *envelopeParser) timestamp(t *time.Time) *envelopeError {
	start := p.i
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return p.fail(`"timestamp" is not a string`)
	}
	s, err := p.stringBytes()
	if err != nil {
		return err
	}
	// UnmarshalText parses strict RFC 3339, as encoding/json does; time.Parse
	// would also take forms such as a comma before the fraction.
	if t.UnmarshalText(s) != nil {
		return &envelopeError{msg: `"timestamp" is not an RFC 3339 time`, off: start}
	}
	return nil
}

func (p *envelopeParser) consume(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *envelopeParser) hasPrefix(s string) bool {
	return len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s
}

func (p *envelopeParser) skipSpace() {
	for p.i < len(p.b) && p.b[p.i] <= ' ' { // one test for the common no-space case
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// stringValue scans the string starting at p.i (a '"') and returns its
// decoded value. Strings without escapes, the common case, are converted
// directly; others go through encoding/json, whose result (including the
// replacement of invalid UTF-8) is then the same as json.Unmarshal's.
func (p *envelopeParser) stringValue() (string, *envelopeError) {
	start := p.i
	plain, err := p.skipString()
	if err != nil {
		return "", err
	}
	raw := p.b[start+1 : p.i-1]
	if plain && utf8.Valid(raw) {
		return string(raw), nil
	}
	var s string
	if json.Unmarshal(p.b[start:p.i], &s) != nil {
		return "", &envelopeError{msg: "invalid string", off: start}
	}
	return s, nil
}

// stringBytes is stringValue without the copy when the string holds no
// escape: the result then aliases the body and must not be retained.
func (p *envelopeParser) stringBytes() ([]byte, *envelopeError) {
	start := p.i
	plain, err := p.skipString()
	if err != nil {
		return nil, err
	}
	if raw := p.b[start+1 : p.i-1]; plain && utf8.Valid(raw) {
		return raw, nil
	}
	var s string
	if json.Unmarshal(p.b[start:p.i], &s) != nil {
		return nil, &envelopeError{msg: "invalid string", off: start}
	}
	return []byte(s), nil
}

// strPlain[c] is true for bytes that may appear unescaped in a JSON string
// and need no attention: not a quote, not a backslash, not a control.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipString moves past the string starting at p.i (a '"'), validating its
// escapes. plain reports that it held no escape.
func (p *envelopeParser) skipString() (plain bool, err *envelopeError) {
	p.i++ // opening quote
	plain = true
	b := p.b
	i := p.i
	for {
		// Skip eight plain bytes at a time while no byte of the word needs
		// attention, then find the exact one byte by byte.
		for len(b)-i >= 8 && !wordNeedsAttention(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			p.i = i
			return false, p.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				p.i = i
				return false, p.fail("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !jsonIsHex(b[i+2]) || !jsonIsHex(b[i+3]) || !jsonIsHex(b[i+4]) || !jsonIsHex(b[i+5]) {
					p.i = i
					return false, p.fail(`invalid \u escape`)
				}
				i += 6
			default:
				p.i = i
				return false, p.fail("invalid escape in string")
			}
		default: // a control character
			p.i = i
			return false, p.fail("control character in string")
		}
	}
}

// wordNeedsAttention reports whether any of the eight bytes of w is a
// quote, a backslash or a control character (below 0x20). It uses the
// classic bit tricks (hasless, haszero): exact as a yes/no answer.
func wordNeedsAttention(w uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	less := (w - 0x20*ones) &^ w
	quote := w ^ '"'*ones
	quote = (quote - ones) &^ quote
	bslash := w ^ '\\'*ones
	bslash = (bslash - ones) &^ bslash
	return (less|quote|bslash)&highs != 0
}

func jsonIsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func jsonIsDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipValue moves past one JSON value starting at p.i, validating it.
// depth is the nesting level of the value about to be read.
func (p *envelopeParser) skipValue(depth int) *envelopeError {
	if depth > maxJSONDepth {
		return p.fail("nesting too deep")
	}
	if p.i >= len(p.b) {
		return p.fail("unexpected end of body")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		p.skipSpace()
		if p.consume('}') {
			return nil
		}
		for {
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return p.fail("expected a field name")
			}
			if _, err := p.skipString(); err != nil {
				return err
			}
			p.skipSpace()
			if !p.consume(':') {
				return p.fail("expected ':'")
			}
			p.skipSpace()
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			p.skipSpace()
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				return nil
			}
			return p.fail("expected ',' or '}'")
		}
	case c == '[':
		p.i++
		p.skipSpace()
		if p.consume(']') {
			return nil
		}
		for {
			p.skipSpace()
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			p.skipSpace()
			if p.consume(',') {
				continue
			}
			if p.consume(']') {
				return nil
			}
			return p.fail("expected ',' or ']'")
		}
	case c == '"':
		_, err := p.skipString()
		return err
	case c == '-' || jsonIsDigit(c):
		return p.skipNumber()
	case p.hasPrefix("true"):
		p.i += 4
	case p.hasPrefix("false"):
		p.i += 5
	case p.hasPrefix("null"):
		p.i += 4
	default:
		return p.fail("invalid value")
	}
	return nil
}

// skipNumber moves past a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *envelopeParser) skipNumber() *envelopeError {
	b := p.b
	p.consume('-')
	switch {
	case p.consume('0'):
	case p.i < len(b) && '1' <= b[p.i] && b[p.i] <= '9':
		for p.i < len(b) && jsonIsDigit(b[p.i]) {
			p.i++
		}
	default:
		return p.fail("invalid number")
	}
	if p.consume('.') {
		if p.i >= len(b) || !jsonIsDigit(b[p.i]) {
			return p.fail("invalid number")
		}
		for p.i < len(b) && jsonIsDigit(b[p.i]) {
			p.i++
		}
	}
	if p.consume('e') || p.consume('E') {
		if !p.consume('+') {
			p.consume('-')
		}
		if p.i >= len(b) || !jsonIsDigit(b[p.i]) {
			return p.fail("invalid number")
		}
		for p.i < len(b) && jsonIsDigit(b[p.i]) {
			p.i++
		}
	}
	return nil
}

// quote returns s in double quotes, shortened so that an error message
// built from a field name stays small.
func quoteField(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
