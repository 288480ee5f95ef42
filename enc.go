package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onplana/webhook/internal/jsonscan"
)

// maxIDLength bounds the identifiers a publisher supplies (event,
// organization and project ids), so they stay reasonable in headers, logs
// and database indexes.
const maxIDLength = 255

// NewDeliveries validates e and returns one pending Delivery of it per
// subscription id in subscriptionIDs, due at now, ready for DeliveryStore.Enqueue. It is
// what Dispatcher.Publish does between matching and enqueueing, exported so
// that a store offering a transactional publish (pgstore's PublishTx) builds
// byte-identical deliveries inside the caller's transaction.
//
// e is completed first: an empty ID gets a new "evt_…" id and a zero
// Timestamp becomes now; both are visible in every body. Validation refuses,
// with a *ValidationError naming the field: an unknown type or webhook.ping
// (sent by the Dispatcher itself, never published), an empty OrganizationID,
// a DeliveryID set by the caller, ids over 255 bytes or with control
// characters, an event ID containing '.', and Data that is not a JSON
// object; and what the type's catalog entry forbids that needs no domain
// model: an empty ProjectID on a project-scoped type ("ProjectID"), Data
// without the resource the type's category names as an object with a
// non-empty string id ("Data.task" and "Data.task.id" for task.*), and an
// update type (EventType.HasDiff) without a non-empty data.diff object
// ("Data.diff"). The full JSON Schema of the type is an EventValidator's
// job (see Config.Validator). Each body is built once, with the delivery's own delivery_id, and
// is sent unchanged on every attempt; a body larger than maxBytes
// (DefaultMaxPayloadBytes when maxBytes <= 0) is refused with an error
// wrapping ErrPayloadTooLarge. With no subscriptions it returns no
// deliveries and a nil error once e is valid.
func NewDeliveries(e Event, subscriptionIDs []string, now time.Time, maxBytes int) ([]*Delivery, error) {
	if err := validatePublished(&e); err != nil {
		return nil, err
	}
	return newDeliveries(e, subscriptionIDs, now, maxBytes)
}

// validatePublished checks an event a caller publishes: validateEvent, no
// ping, and checkPublished.
func validatePublished(e *Event) error {
	if err := validateEvent(e); err != nil {
		return err
	}
	if e.Type == EventPing {
		return &ValidationError{Field: "Type", Reason: "webhook.ping is sent by the dispatcher (CreateSubscription, Ping), not published"}
	}
	return checkPublished(e)
}

// completeEvent gives e an ID and a Timestamp if it has none, as of now.
func completeEvent(e *Event, now time.Time) {
	now = now.UTC()
	if e.ID == "" {
		e.ID = newID(prefixEvent, now)
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now.Truncate(time.Millisecond)
	}
}

// newDeliveries builds the deliveries of the validated event e (pings
// included), filling its ID and Timestamp when they are empty.
func newDeliveries(e Event, subscriptionIDs []string, now time.Time, maxBytes int) ([]*Delivery, error) {
	if i := slices.Index(subscriptionIDs, ""); i >= 0 {
		return nil, &ValidationError{Field: "subscriptionIDs", Reason: "id " + strconv.Itoa(i) + " is empty"}
	}
	n := len(subscriptionIDs)
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPayloadBytes
	}
	now = now.UTC()
	completeEvent(&e, now)
	// The first body is encoded in place; the others copy everything after
	// its delivery_id, which is the same for all.
	const prefixLen = len(`{"delivery_id":"`) + len(prefixDelivery) + 26 + len(`",`)
	firstID := newID(prefixDelivery, now)
	first := make([]byte, 0, envelopeSize(&e))
	first, err := appendEnvelope(first, firstID, &e)
	if err != nil {
		return nil, err
	}
	size := len(first)
	if size > maxBytes {
		return nil, fmt.Errorf("%w: event %s (%s) encodes to %d bytes, over the %d-byte cap", ErrPayloadTooLarge, e.ID, e.Type, size, maxBytes)
	}
	tail := first[prefixLen:]

	// One allocation for the other bodies and one for all records: a
	// fan-out to many subscriptions costs a handful of allocations, not two
	// per subscription. Each body is capped at its own length, so none can
	// grow into its neighbour.
	out := make([]*Delivery, n)
	records := make([]Delivery, n)
	var rest []byte
	if n > 1 {
		rest = make([]byte, 0, size*(n-1))
	}
	for i := range n {
		id, body := firstID, first[:size:size]
		if i > 0 {
			id = newID(prefixDelivery, now)
			start := len(rest)
			rest = append(rest, `{"delivery_id":"`...)
			rest = append(rest, id...)
			rest = append(rest, `",`...)
			rest = append(rest, tail...)
			body = rest[start:len(rest):len(rest)]
		}
		records[i] = Delivery{
			ID:             id,
			EventID:        e.ID,
			EventType:      e.Type,
			SubscriptionID: subscriptionIDs[i],
			OrganizationID: e.OrganizationID,
			ProjectID:      e.ProjectID,
			Body:           body,
			State:          StatePending,
			NextAttemptAt:  now,
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		out[i] = &records[i]
	}
	return out, nil
}

// envelopeSize returns the length of e's envelope when its strings need no
// escaping, which is the common case; appendEnvelope grows the buffer when
// they do. Sizing the buffer exactly matters because a MemoryStore keeps
// each body for the life of its delivery log.
func envelopeSize(e *Event) int {
	const (
		// Names, quotes, colons and commas of the fields, and the braces.
		fixed      = len(`{"delivery_id":"","event_id":"","event":"","timestamp":"","organization_id":"","data":}`)
		project    = len(`"project_id":"",`)
		deliveryID = len(prefixDelivery) + 26
		timestamp  = len("2006-01-02T15:04:05.999999999Z")
	)
	n := fixed + deliveryID + len(e.ID) + len(e.Type) + timestamp + len(e.OrganizationID) + len(e.Data)
	if e.ProjectID != "" {
		n += project + len(e.ProjectID)
	}
	return n
}

// appendEnvelope appends to b the envelope of e with the given delivery
// id, its fields in the order of Event's JSON form. Data is copied as given
// (after checking that it is valid JSON, nested in the envelope's object
// no deeper than encoding/json and ParseEvent accept), so the receiver sees
// the publisher's bytes.
func appendEnvelope(b []byte, deliveryID string, e *Event) ([]byte, error) {
	if !jsonscan.ValidIn(e.Data, 1) {
		return nil, &ValidationError{Field: "Data", Reason: "not valid JSON"}
	}
	b = append(b, '{')
	b = appendField(b, "delivery_id", deliveryID)
	b = appendField(b, "event_id", e.ID)
	b = appendField(b, "event", string(e.Type))
	b = append(b, `"timestamp":"`...)
	b = e.Timestamp.UTC().AppendFormat(b, time.RFC3339Nano) // plain ASCII: nothing to escape
	b = append(b, `",`...)
	b = appendField(b, "organization_id", e.OrganizationID)
	if e.ProjectID != "" {
		b = appendField(b, "project_id", e.ProjectID)
	}
	b = append(b, `"data":`...)
	b = append(b, bytes.TrimSpace(e.Data)...)
	return append(b, '}'), nil
}

// appendField appends "name":value, to b, with value encoded as a JSON
// string.
func appendField(b []byte, name, value string) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	b = appendJSONString(b, value)
	return append(b, ',')
}

// appendJSONString appends s as a JSON string: plain printable ASCII is
// copied, anything else goes through encoding/json (which also escapes
// <, > and &, as json.Marshal of an Event would).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			v, _ := json.Marshal(s) // marshalling a string cannot fail
			return append(b, v...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// validateEvent checks the fields a publisher sets. It does not fill ID or
// Timestamp.
func validateEvent(e *Event) error {
	if e.Type == "" {
		return &ValidationError{Field: "Type", Reason: "required"}
	}
	if !e.Type.Known() {
		return &ValidationError{Field: "Type", Reason: fmt.Sprintf("%q is not in the event catalog", e.Type)}
	}
	if e.DeliveryID != "" {
		return &ValidationError{Field: "DeliveryID", Reason: "set by the library; leave it empty when publishing"}
	}
	if e.OrganizationID == "" {
		return &ValidationError{Field: "OrganizationID", Reason: "required"}
	}
	if err := validateID("OrganizationID", e.OrganizationID); err != nil {
		return err
	}
	if err := validateID("ProjectID", e.ProjectID); err != nil {
		return err
	}
	if err := validateID("ID", e.ID); err != nil {
		return err
	}
	// The Standard Webhooks scheme signs "id.timestamp.body"; ids with a
	// '.' would make that content ambiguous.
	if strings.Contains(e.ID, ".") {
		return &ValidationError{Field: "ID", Reason: "must not contain '.'"}
	}
	if !isJSONObject(e.Data) {
		return &ValidationError{Field: "Data", Reason: "must be a JSON object"}
	}
	return nil
}

// validateID checks an optional identifier: at most maxIDLength bytes of
// valid UTF-8 without control characters.
func validateID(field, s string) error {
	if len(s) > maxIDLength {
		return &ValidationError{Field: field, Reason: "longer than " + strconv.Itoa(maxIDLength) + " bytes"}
	}
	if !utf8.ValidString(s) {
		return &ValidationError{Field: field, Reason: "not valid UTF-8"}
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return &ValidationError{Field: field, Reason: "contains a control character"}
		}
	}
	return nil
}

// isJSONObject reports whether raw starts like a JSON object; the encoder
// (envelopeTail) checks that it is valid JSON, in the same pass it needs
// anyway.
func isJSONObject(raw []byte) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}
