package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Event is one occurrence in the host product, as published by the sender and
// as decoded by a receiver. Its JSON form is the delivery envelope:
//
//	{"delivery_id":"dlv_…","event_id":"evt_…","event":"task.updated",
//	 "timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123",
//	 "project_id":"proj_xyz789","data":{…}}
//
// DeliveryID is empty when an Event is published; every delivery of the event
// to a subscription gets its own id, identical on every retry of that delivery.
type Event struct {
	// DeliveryID identifies one delivery of the event to one subscription.
	// It is set by the library; a publisher leaves it empty.
	DeliveryID string `json:"delivery_id,omitempty"`
	// ID identifies the event; the same across subscriptions. Publish
	// generates one ("evt_…") when it is empty.
	ID string `json:"event_id"`
	// Type is the catalog type of the event, such as "task.updated".
	Type EventType `json:"event"`
	// Timestamp is when the event happened, in UTC. Publish sets it to the
	// current time when it is zero.
	Timestamp time.Time `json:"timestamp"`
	// OrganizationID is the organization the event belongs to. Required.
	OrganizationID string `json:"organization_id"`
	// ProjectID is the project the event belongs to; empty for
	// organization-level events.
	ProjectID string `json:"project_id,omitempty"`
	// Data is the event-specific payload: the resource's full current state
	// under its resource name, a "diff" for update events, and an optional
	// "actor". It must be a JSON object.
	Data json.RawMessage `json:"data"`
}

// NewEvent returns an Event of type typ whose Data is the JSON encoding of
// data. It returns an error if data cannot be encoded as a JSON object.
func NewEvent(typ EventType, organizationID, projectID string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("webhook: encode event data: %w", err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Event{}, &ValidationError{Field: "Data", Reason: "must be a JSON object"}
	}
	return Event{Type: typ, OrganizationID: organizationID, ProjectID: projectID, Data: raw}, nil
}

// DecodeData decodes the event's Data into v, typically a pointer to one of
// the payload types of package [github.com/onplana/webhook/onplana], such as
// *onplana.TaskEventData.
func (e *Event) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("%w: no data", ErrInvalidEnvelope)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%w: data: %v", ErrInvalidEnvelope, err)
	}
	return nil
}

// Errors returned by the package. They are sentinels: compare with errors.Is.
var (
	// ErrNotFound is returned by stores and the dispatcher when a
	// subscription or delivery does not exist.
	ErrNotFound = errors.New("webhook: not found")
	// ErrInvalidEnvelope reports a body that is not a valid delivery envelope.
	ErrInvalidEnvelope = errors.New("webhook: invalid envelope")
	// ErrPayloadTooLarge reports an event or body over the configured cap.
	ErrPayloadTooLarge = errors.New("webhook: payload too large")
	// ErrClosed is returned by a Dispatcher after Close.
	ErrClosed = errors.New("webhook: dispatcher closed")
	// ErrLeaseLost is returned by a DeliveryStore when a worker reports the
	// result of a delivery whose lease expired and was claimed by another
	// worker.
	ErrLeaseLost = errors.New("webhook: delivery lease lost")
)

// ValidationError reports invalid input and names the offending field.
type ValidationError struct {
	Field  string // the field, as named in Go (e.g. "URL", "EventTypes")
	Reason string // what is wrong with it
	// Hint, when set, names the configuration that would accept the value,
	// such as the Config field allowing a local receiver. It speaks to the
	// developer who configures the library, not to whoever entered the
	// value: a form shown to customers says Reason in its own words and
	// leaves Hint out.
	Hint string
	// Err is the underlying error, if any (such as a *BlockedAddressError
	// for a URL naming an internal address); errors.Is and errors.As see it.
	Err error
}

// Error names the field and says what is wrong with it, and how to allow
// it when Hint says so.
func (e *ValidationError) Error() string {
	if e.Hint != "" {
		return "webhook: invalid " + e.Field + ": " + e.Reason + "; " + e.Hint
	}
	return "webhook: invalid " + e.Field + ": " + e.Reason
}

// Unwrap returns the underlying error, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// Secret is a signing secret, "whsec_" followed by the base64 encoding of 32
// random bytes (see NewSecret). It is the one type of every secret in the
// API: the Dispatcher's subscriptions, Sign and Verify, the Receiver.
//
// Its String, GoString, LogValue and MarshalText methods redact it, so that
// printing, logging or encoding a Secret by accident never reveals it:
// fmt.Println(s) prints "whsec_[REDACTED]". Where the value itself is
// needed (showing a new secret to its owner once, handing it to a secret
// manager), ask for it with Reveal.
type Secret string

// Reveal returns the secret itself. It is the explicit way to get the
// value, so that every place that reveals a secret is easy to find.
func (s Secret) Reveal() string { return string(s) }

// String returns a redacted form of the secret.
func (s Secret) String() string { return "whsec_[REDACTED]" }

// GoString returns a redacted form of the secret, for %#v.
func (s Secret) GoString() string { return `webhook.Secret("whsec_[REDACTED]")` }

// LogValue implements slog.LogValuer and returns a redacted form of the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText returns the redacted form, so encoding a Secret by accident
// (for example inside a logged struct) does not leak it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Subscription is a customer endpoint registered to receive events of some
// types, for a whole organization or one of its projects.
type Subscription struct {
	// ID identifies the subscription ("sub_…"), set at creation.
	ID string
	// OrganizationID is the organization whose events are delivered. Required.
	OrganizationID string
	// ProjectID limits the subscription to one project of the organization;
	// empty means organization-wide.
	ProjectID string
	// URL is the endpoint, an absolute https URL (http only when the
	// dispatcher allows it), without credentials or fragment.
	URL string
	// EventTypes are the types delivered: exact types such as "task.updated",
	// category wildcards such as "task.*", or "*" for all. At least one.
	EventTypes []string
	// Description helps future maintainers know what the endpoint drives.
	Description string
	// Disabled stops deliveries to the subscription. Events published
	// while it is disabled get no delivery for it, so they are not sent
	// after it is enabled again either (as with an inactive GitHub
	// webhook); deliveries already pending wait until it is enabled again.
	Disabled bool
	// DisabledReason says why it was disabled (by a user, after days of
	// failures, or on 410 Gone).
	DisabledReason string
	// Secrets sign the deliveries. Secrets[0] is the current secret; the
	// others are previous secrets still inside their rotation grace period.
	// Every unexpired secret signs each delivery, so a receiver holding
	// either the old or the new secret accepts it.
	Secrets []SigningSecret
	// FailingSince is when deliveries to the endpoint started failing
	// without a success since; zero while it is healthy.
	FailingSince time.Time
	// CreatedAt and UpdatedAt are maintained by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SigningSecret is one secret of a subscription with its validity.
type SigningSecret struct {
	Secret    Secret
	CreatedAt time.Time
	// ExpiresAt is when a rotated-out secret stops signing; zero for the
	// current secret.
	ExpiresAt time.Time
}

// DeliveryState is the lifecycle state of a Delivery.
type DeliveryState string

// The states of a delivery. A delivery is pending until a worker claims it,
// delivering while a worker holds its lease, and ends succeeded or failed.
// A failed delivery can be sent again by hand (Dispatcher.Redeliver).
const (
	StatePending    DeliveryState = "pending"
	StateDelivering DeliveryState = "delivering"
	StateSucceeded  DeliveryState = "succeeded"
	StateFailed     DeliveryState = "failed"
)

// Delivery is one event on its way to one subscription. Body holds the exact
// bytes sent on every attempt.
type Delivery struct {
	ID             string // "dlv_…", the envelope's delivery_id
	EventID        string
	EventType      EventType
	SubscriptionID string
	OrganizationID string
	ProjectID      string
	Body           []byte // the signed envelope, identical on every attempt
	State          DeliveryState
	AttemptCount   int       // attempts made so far
	NextAttemptAt  time.Time // when a pending delivery is due
	LeaseExpiresAt time.Time // while delivering: when another worker may reclaim it
	LastStatusCode int       // status of the last attempt; 0 if none or no response
	LastError      string    // error of the last attempt, if any
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// TraceContext is the trace context of the Publish call that created
	// the delivery, encoded by the Dispatcher's TraceObserver; empty when
	// there was none. Stores keep it unchanged. It is not part of the body,
	// and reaches the endpoint only through a HeaderInjector.
	TraceContext string
}

// Attempt records one HTTP attempt of a delivery, for the delivery log.
type Attempt struct {
	DeliveryID string
	Number     int // 1 for the first attempt
	StartedAt  time.Time
	Duration   time.Duration
	// StatusCode is the response status; 0 when no response was received.
	StatusCode int
	// ErrorClass classifies a failed attempt; empty on success.
	ErrorClass ErrorClass
	// Error describes the failure, with the endpoint URL redacted.
	Error string
	// ResponseSnippet is the start of the response body, capped.
	ResponseSnippet string
}

// ErrorClass classifies why an attempt failed.
type ErrorClass string

// Error classes recorded in the delivery log.
const (
	ErrorClassStatus     ErrorClass = "status"     // a non-2xx response
	ErrorClassTimeout    ErrorClass = "timeout"    // the attempt deadline passed
	ErrorClassConnection ErrorClass = "connection" // refused, reset, DNS or TLS failure
	ErrorClassBlocked    ErrorClass = "blocked"    // refused by the SSRF guard
	ErrorClassOther      ErrorClass = "other"
)
