package webhook

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// STUB (skeleton): the dispatcher helper implements this file; exported
// signatures are the contract the CLI, examples and management API use.

// Config configures a Dispatcher. The zero value (or a nil *Config) is
// usable: every field has a default.
type Config struct {
	// Workers is the number of deliveries attempted at once, across all
	// endpoints. Defaults to DefaultWorkers.
	Workers int
	// MaxPerEndpoint caps concurrent attempts to one endpoint URL host so a
	// slow endpoint cannot starve the others. Defaults to DefaultMaxPerEndpoint.
	MaxPerEndpoint int
	// AttemptTimeout bounds one attempt: connect, headers and body.
	// Defaults to DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// RetryPolicy schedules retries. Defaults to DefaultRetryPolicy().
	RetryPolicy RetryPolicy
	// MaxPayloadBytes caps the encoded envelope; larger events are refused
	// by Publish with ErrPayloadTooLarge. Defaults to DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Scheme selects the signature headers. Defaults to SchemeOnplana.
	Scheme Scheme
	// EventHeader and SignatureHeader name the Onplana-scheme headers.
	// Default to DefaultEventHeader and DefaultSignatureHeader.
	EventHeader     string
	SignatureHeader string
	// UserAgent is sent on every attempt. Defaults to DefaultUserAgent.
	UserAgent string
	// AllowHTTP allows plain-http subscription URLs. Defaults to false.
	AllowHTTP bool
	// AllowPrivateNetworks turns off the SSRF guard entirely: for tests and
	// local development only. Defaults to false.
	AllowPrivateNetworks bool
	// AllowedNetworks lists non-public prefixes the guard lets through
	// (e.g. 127.0.0.1/32 for a local receiver). Defaults to none.
	AllowedNetworks []netip.Prefix
	// DisableAfter disables a subscription that has had no successful
	// delivery for this long while deliveries kept failing. Defaults to
	// DefaultDisableAfter.
	DisableAfter time.Duration
	// OnDisable, if set, is called after a subscription is disabled
	// automatically, so the host can notify its owner.
	OnDisable func(ctx context.Context, sub *Subscription, reason string)
	// Observer, if set, is told about every attempt and state change.
	Observer Observer
	// Logger receives the dispatcher's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Observer is told about deliveries as they happen, for metrics. Its
// methods are called from worker goroutines and must not block.
type Observer interface {
	// AttemptFinished is called after each attempt with its outcome.
	AttemptFinished(d *Delivery, a *Attempt)
	// DeliveryStateChanged is called when a delivery ends (succeeded or failed).
	DeliveryStateChanged(d *Delivery)
}

// Dispatcher publishes events and delivers them to matching subscriptions
// through a Store. It is safe for concurrent use.
type Dispatcher struct{}

// NewDispatcher returns a Dispatcher over store; cfg may be nil.
func NewDispatcher(store Store, cfg *Config) (*Dispatcher, error) { panic("unimplemented") }

// Start starts the workers. They run until Close.
func (d *Dispatcher) Start(ctx context.Context) error { panic("unimplemented") }

// Close stops claiming, waits for in-flight attempts, and leaves the rest
// pending in the store. It returns ctx.Err() if ctx ends first.
func (d *Dispatcher) Close(ctx context.Context) error { panic("unimplemented") }

// Publish enqueues one delivery of e per matching subscription and returns
// once they are in the store.
func (d *Dispatcher) Publish(ctx context.Context, e Event) error { panic("unimplemented") }

// SubscriptionParams describes a subscription to create or update.
type SubscriptionParams struct {
	OrganizationID string
	ProjectID      string
	URL            string
	EventTypes     []string
	Description    string
}

// CreateSubscription validates p, creates the subscription with a new secret
// and sends it a webhook.ping. The secret is in the returned Subscription's
// Secrets[0]; it is shown to the user once.
func (d *Dispatcher) CreateSubscription(ctx context.Context, p SubscriptionParams) (*Subscription, error) {
	panic("unimplemented")
}

// UpdateSubscription changes URL, EventTypes, ProjectID and Description.
func (d *Dispatcher) UpdateSubscription(ctx context.Context, id string, p SubscriptionParams) (*Subscription, error) {
	panic("unimplemented")
}

// SetSubscriptionEnabled enables or disables a subscription.
func (d *Dispatcher) SetSubscriptionEnabled(ctx context.Context, id string, enabled bool) (*Subscription, error) {
	panic("unimplemented")
}

// RotateSecret gives the subscription a new current secret; the previous
// one keeps signing for grace. It returns the new secret.
func (d *Dispatcher) RotateSecret(ctx context.Context, id string, grace time.Duration) (Secret, error) {
	panic("unimplemented")
}

// Ping delivers a webhook.ping to the subscription now and returns the attempt.
func (d *Dispatcher) Ping(ctx context.Context, subscriptionID string) (*Attempt, error) {
	panic("unimplemented")
}

// Redeliver schedules a failed delivery to be sent again now.
func (d *Dispatcher) Redeliver(ctx context.Context, deliveryID string) error { panic("unimplemented") }
