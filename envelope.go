package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/onplana/webhook/internal/jsondec"
	"github.com/onplana/webhook/internal/jsonscan"
	"github.com/onplana/webhook/internal/rfc3339"
)

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
	e := new(Event)
	if _, err := parseEvent(body, nil, e); err != nil {
		return nil, err
	}
	return e, nil
}

// parseEvent is ParseEvent into e, which also decodes the data of the
// event when router is not nil and has a route that decodes it in place
// (see route.predecode), and the event's type comes before its data: it
// then returns the decoded value, or nil. On error, e is partly set.
func parseEvent(body []byte, router *Router, e *Event) (any, error) {
	p := envelopeParser{b: body, router: router}
	if err := p.parse(e); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidEnvelope, err.reason())
	}
	return p.predecoded, nil
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

	router     *Router // whose route may decode the data, or nil
	predecoded any     // the data as that route decoded it
}

// Bits of the fields seen, to reject repeats and report missing ones: the
// bit of envelopeOrder[i] is 1<<i.
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

func (p *envelopeParser) parse(e *Event) *envelopeError {
	// The string fields of Event.field whose value is their bytes in the
	// body as they are: parse copies all of them into one string at the
	// end, one allocation for the envelope's ids rather than one per field,
	// or the data's decoder does, with the data's strings.
	var strs jsondec.Carried
	p.skipSpace()
	if !p.consume('{') {
		return p.fail("body is not a JSON object")
	}
	var seen int
	next := 0 // in envelopeOrder, the field expected next
	p.skipSpace()
	if !p.consume('}') {
		for {
			p.skipSpace()
			keyStart := p.i
			var key []byte
			f := -1 // the field's index in envelopeOrder, or -1 for an unknown one
			if next < len(envelopeOrder) && p.hasPrefix(envelopeOrder[next]) {
				// The field a sender writes next, without escapes: its
				// bytes are its name.
				key = p.b[p.i+1 : p.i+len(envelopeOrder[next])-1]
				p.i += len(envelopeOrder[next])
				f = next
				next++
			} else {
				if p.i >= len(p.b) || p.b[p.i] != '"' {
					return p.fail(jsonscan.ErrName.Error())
				}
				var err *envelopeError
				if key, err = p.stringBytes(); err != nil {
					return err
				}
				for i, name := range envelopeOrder {
					if string(key) == name[1:len(name)-1] {
						f, next = i, i+1 // a field left out: expect the one after
						break
					}
				}
			}
			p.skipSpace()
			if !p.consume(':') {
				return p.fail(jsonscan.ErrColon.Error())
			}
			p.skipSpace()
			bit, dst := e.field(f)
			if bit != 0 {
				if seen&bit != 0 {
					return &envelopeError{msg: "repeated field " + quoteField(string(key)), off: keyStart}
				}
				seen |= bit
			}
			switch {
			case bit == seenData:
				start := p.i
				if p.i >= len(p.b) || p.b[p.i] != '{' {
					return p.fail(`"data" is not an object`)
				}
				if p.predecode(e.Type, strs) {
					strs = jsondec.Carried{} // set
				} else if err := p.skipValue(); err != nil {
					return err
				}
				e.Data = json.RawMessage(p.b[start:p.i:p.i])
			case bit == seenProjectID && p.hasPrefix("null"):
				p.i += len("null") // an organization-level event may say null
			case bit == seenTimestamp:
				if err := p.timestamp(&e.Timestamp); err != nil {
					return err
				}
			case dst != nil:
				if p.i >= len(p.b) || p.b[p.i] != '"' {
					return p.fail(quoteField(string(key)) + " is not a string")
				}
				start := p.i
				flags, err := p.skipString()
				if err != nil {
					return err
				}
				raw := p.b[start+1 : p.i-1]
				switch {
				case !jsonscan.Verbatim(flags, raw):
					// Decoded by encoding/json, whose result (including the
					// replacement of invalid UTF-8) is then json.Unmarshal's.
					if json.Unmarshal(p.b[start:p.i], dst) != nil {
						return &envelopeError{msg: "invalid string", off: start}
					}
				case bit == seenEvent && internType(raw, &e.Type):
				default:
					// One field each (a repeat is refused): room for all.
					strs.Add(jsondec.Span{Dst: dst, Lo: start + 1, Hi: p.i - 1})
				}
			default:
				if err := p.skipValue(); err != nil {
					return err
				}
			}
			p.skipSpace()
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				break
			}
			return p.fail(jsonscan.ErrObjectEnd.Error())
		}
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return p.fail("data after the JSON object")
	}
	jsondec.SetSpans(p.b, strs.Spans())
	for _, f := range requiredFields {
		if seen&f.bit == 0 {
			return &envelopeError{msg: "missing " + quoteField(f.name), off: -1}
		}
	}
	switch {
	case e.DeliveryID == "":
		return &envelopeError{msg: `empty "delivery_id"`, off: -1}
	case e.ID == "":
		return &envelopeError{msg: `empty "event_id"`, off: -1}
	case e.Type == "":
		return &envelopeError{msg: `empty "event"`, off: -1}
	case e.OrganizationID == "":
		return &envelopeError{msg: `empty "organization_id"`, off: -1}
	}
	return nil
}

// catalogTypes maps the name of each type of the catalog to its constant.
var catalogTypes = func() map[string]EventType {
	m := make(map[string]EventType, len(eventTypes))
	for _, t := range eventTypes {
		m[string(t)] = t
	}
	return m
}()

// internType sets *t to the catalog's constant named raw, if there is one,
// and reports whether there was: the event's type then costs no copy.
func internType(raw []byte, t *EventType) bool {
	known, ok := catalogTypes[string(raw)]
	if ok {
		*t = known
	}
	return ok
}

// envelopeOrder holds the names of the envelope's fields between quotes,
// in the order a Dispatcher writes them: the parser compares the bytes of
// the next name with the one expected before scanning and decoding it.
var envelopeOrder = [...]string{`"delivery_id"`, `"event_id"`, `"event"`, `"timestamp"`, `"organization_id"`, `"project_id"`, `"data"`}

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

// field maps the index of an envelope field in envelopeOrder (-1 for an
// unknown field) to its bit, 0 when unknown, and for string fields to
// where its value goes.
func (e *Event) field(i int) (int, *string) {
	if i < 0 {
		return 0, nil
	}
	bit := 1 << i
	switch bit {
	case seenDeliveryID:
		return bit, &e.DeliveryID
	case seenEventID:
		return bit, &e.ID
	case seenEvent:
		return bit, (*string)(&e.Type)
	case seenOrganizationID:
		return bit, &e.OrganizationID
	case seenProjectID:
		return bit, &e.ProjectID
	}
	return bit, nil
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
	// time.Time's UnmarshalText, which rfc3339.Parse is, faster.
	ts, perr := rfc3339.Parse(s)
	if perr != nil {
		return &envelopeError{msg: `"timestamp" is not an RFC 3339 time`, off: start}
	}
	*t = ts
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

func (p *envelopeParser) skipSpace() { p.i = jsonscan.Space(p.b, p.i) }

// predecode decodes the data object at p.i with the route of p.router for
// events of type typ, if there is one that can, and moves past it. It
// reports whether it did: decoding validates the object as skipValue
// does, so that a decoded object is a valid one. Otherwise (no route, a
// type not known yet, or an object that does not decode, valid or not)
// it leaves p.i alone for skipValue to validate the object and say what
// is wrong with it. Once it calls the route's decoder, the strings of strs
// are set, with the data's.
func (p *envelopeParser) predecode(typ EventType, strs jsondec.Carried) bool {
	if p.router == nil || typ == "" {
		return false
	}
	decode := p.router.predecoder(typ)
	if decode == nil {
		return false
	}
	v, end, ok := decode(p.b, p.i, strs)
	if !ok {
		return false
	}
	p.predecoded, p.i = v, end
	return true
}

// skipValue moves past the value of a field of the envelope, validating it.
func (p *envelopeParser) skipValue() *envelopeError {
	end, err := jsonscan.Value(p.b, p.i, 1) // inside the envelope's object
	p.i = end
	if err != nil {
		return p.fail(err.Error())
	}
	return nil
}

// skipString moves past the string starting at p.i (a '"'), validating its
// escapes, and returns what jsonscan.StringFlags tells of it.
func (p *envelopeParser) skipString() (flags int, err *envelopeError) {
	end, flags, serr := jsonscan.StringFlags(p.b, p.i)
	p.i = end
	if serr != nil {
		return 0, p.fail(serr.Error())
	}
	return flags, nil
}

// stringBytes scans the string starting at p.i (a '"') and returns its
// decoded value. A string without escapes, in valid UTF-8, is returned as
// it is in the body, which the result then aliases: it must not be
// retained. Any other goes through encoding/json, whose result (including
// the replacement of invalid UTF-8) is then the same as json.Unmarshal's.
func (p *envelopeParser) stringBytes() ([]byte, *envelopeError) {
	start := p.i
	flags, err := p.skipString()
	if err != nil {
		return nil, err
	}
	if raw := p.b[start+1 : p.i-1]; jsonscan.Verbatim(flags, raw) {
		return raw, nil
	}
	var s string
	if json.Unmarshal(p.b[start:p.i], &s) != nil {
		return nil, &envelopeError{msg: "invalid string", off: start}
	}
	return []byte(s), nil
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
