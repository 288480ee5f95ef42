package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultWorkers is how many attempts a Dispatcher makes at once.
	DefaultWorkers = 32
	// DefaultMaxPerEndpoint is how many of them may go to one endpoint host.
	DefaultMaxPerEndpoint = 4
	// DefaultMaxPayloadBytes caps an encoded envelope (256 KiB), well under
	// what receivers accept by default.
	DefaultMaxPayloadBytes = 256 << 10
	// DefaultUserAgent is the User-Agent of every attempt.
	DefaultUserAgent = "onplana-webhook/1 (+https://github.com/onplana/webhook)"
	// DefaultDeliveryHeader carries the delivery id on every attempt (it is
	// also the envelope's delivery_id, which is the signed copy).
	DefaultDeliveryHeader = "X-Onplana-Delivery"
	// DefaultDisableAfter is how long an endpoint may keep failing, with no
	// success, before its subscription is disabled (as Svix does).
	DefaultDisableAfter = 5 * 24 * time.Hour
	// DefaultPollInterval is how often an idle Dispatcher looks for due
	// deliveries when nothing wakes it earlier.
	DefaultPollInterval = time.Second
	// DefaultMaxRetryAfter caps how long a Retry-After header may delay the
	// next attempt.
	DefaultMaxRetryAfter = time.Hour
	// DefaultRotationGrace is how long a rotated-out secret keeps signing.
	DefaultRotationGrace = 24 * time.Hour
	// DefaultMaxSubscriptionsPerOrganization is how many subscriptions one
	// organization may have: enough for every integration a team runs, and
	// a bound on the fan-out of each of its events.
	DefaultMaxSubscriptionsPerOrganization = 100
)

// RotateImmediately, passed as the grace of RotateSecret, stops the old
// secrets at once: for a secret that leaked.
const RotateImmediately time.Duration = -1

// Internal tuning that no host has a reason to change.
const (
	// maxClaimBatch bounds one Claim call.
	maxClaimBatch = 64
	// recordersPerWorker times Config.Workers recorders write the results
	// of attempts. Each waits for its Complete, so they bound how many
	// share a group commit on a database store.
	recordersPerWorker = 4
	// leaseMargin is added to the attempt timeout to form the lease, so a
	// lease outlives the attempt plus the store writes around it.
	leaseMargin = 30 * time.Second
	// storeTimeout bounds the store writes that record an attempt, which
	// must happen even when the attempt's context was cancelled.
	storeTimeout = 10 * time.Second
)

// ErrAlreadyStarted is returned by Start when the Dispatcher is running.
var ErrAlreadyStarted = errors.New("webhook: dispatcher already started")

// Config configures a Dispatcher. The zero value (or a nil *Config) is
// usable: every field has a default.
type Config struct {
	// Workers is the number of deliveries attempted at once, across all
	// endpoints. Up to 8 claimed deliveries per worker wait in memory for
	// their endpoint. Defaults to DefaultWorkers.
	Workers int
	// MaxPerEndpoint caps concurrent attempts to one endpoint (URL host
	// and port) so a slow endpoint cannot starve the others. While an
	// endpoint has due deliveries its slots stay busy: the next waits in
	// the Dispatcher's queue for that endpoint, not in the store.
	// Defaults to DefaultMaxPerEndpoint.
	MaxPerEndpoint int
	// AttemptTimeout bounds one attempt: connect, headers and body.
	// Defaults to DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// RetryPolicy schedules retries. Defaults to ExponentialRetry{}, every
	// field at its default (the DefaultRetry… constants).
	RetryPolicy RetryPolicy
	// MaxPayloadBytes caps the encoded envelope; larger events are refused
	// by Publish with ErrPayloadTooLarge. Defaults to DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Scheme selects the signature headers. Defaults to SchemeOnplana.
	Scheme Scheme
	// EventHeader, SignatureHeader and PreviousSignatureHeader name the
	// Onplana-scheme headers: the event type, the one signature under the
	// subscription's newest secret, and the signatures under older secrets
	// during a rotation's grace period (see Signer.SignRequest). Default to
	// DefaultEventHeader, DefaultSignatureHeader and
	// DefaultPreviousSignatureHeader.
	EventHeader             string
	SignatureHeader         string
	PreviousSignatureHeader string
	// DeliveryHeader names the header carrying the delivery id on every
	// attempt. Defaults to DefaultDeliveryHeader.
	DeliveryHeader string
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
	// MaxSubscriptionsPerOrganization caps how many subscriptions one
	// organization may have: CreateSubscription refuses one more with a
	// *SubscriptionLimitError. Every subscription costs a delivery per
	// matching event, so the cap bounds what one organization can make the
	// Dispatcher send. Defaults to DefaultMaxSubscriptionsPerOrganization.
	MaxSubscriptionsPerOrganization int
	// DisableAfter disables a subscription that has had no successful
	// delivery for this long while deliveries kept failing. Defaults to
	// DefaultDisableAfter.
	DisableAfter time.Duration
	// OnDisable, if set, is called after a subscription is disabled
	// automatically (failing for DisableAfter, or 410 Gone), so the host can
	// notify its owner. It runs once per disabling, on the Dispatcher's
	// goroutine that recorded the deciding attempt: return quickly (hand
	// slow work to a queue).
	OnDisable func(ctx context.Context, sub *Subscription, reason string)
	// Observer, if set, is told about every attempt and state change;
	// and more when it implements AttemptObserver, TraceObserver,
	// DisableObserver or HeaderInjector.
	Observer Observer
	// Logger receives the dispatcher's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// PollInterval is how often an idle Dispatcher looks for due
	// deliveries when the store cannot wake it (it is not a WorkNotifier)
	// or another process scheduled them. Defaults to DefaultPollInterval.
	PollInterval time.Duration
	// MaxRetryAfter caps the delay a Retry-After header on a 429, 502, 503
	// or 504 response may impose. Defaults to DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Validator, if set, checks every event Publish accepts, after the
	// checks Publish always makes (see NewDeliveries), and Publish refuses
	// the event with its error. Set it to onplana.Validator() to check each
	// event against the JSON Schema of its catalog entry, so that no
	// receiver that trusts the catalog gets what it forbids; that costs a
	// decoding of Data per Publish (see onplana.Validator). Defaults to
	// nil: only the checks Publish always makes.
	Validator EventValidator
	// HTTPClient, if set, sends the attempts instead of the client built
	// with NewClient from AttemptTimeout, AllowPrivateNetworks and
	// AllowedNetworks. The SSRF guard, the refusal of redirects and the
	// absence of a proxy are then its owner's responsibility.
	HTTPClient *http.Client
}

// withDefaults returns a copy of c with every zero field set to its
// default, or a *ValidationError naming the first invalid field.
func (c *Config) withDefaults() (Config, error) {
	var out Config
	if c != nil {
		out = *c
		out.AllowedNetworks = append([]netip.Prefix(nil), c.AllowedNetworks...)
	}
	type check struct {
		bad   bool
		field string
	}
	for _, ch := range []check{
		{out.Workers < 0, "Workers"},
		{out.MaxPerEndpoint < 0, "MaxPerEndpoint"},
		{out.AttemptTimeout < 0, "AttemptTimeout"},
		{out.MaxPayloadBytes < 0, "MaxPayloadBytes"},
		{out.DisableAfter < 0, "DisableAfter"},
		{out.PollInterval < 0, "PollInterval"},
		{out.MaxRetryAfter < 0, "MaxRetryAfter"},
		{out.MaxSubscriptionsPerOrganization < 0, "MaxSubscriptionsPerOrganization"},
	} {
		if ch.bad {
			return Config{}, &ValidationError{Field: ch.field, Reason: "must not be negative"}
		}
	}
	for _, p := range out.AllowedNetworks {
		if !p.IsValid() {
			return Config{}, &ValidationError{Field: "AllowedNetworks", Reason: "invalid prefix " + p.String()}
		}
	}
	if out.Workers == 0 {
		out.Workers = DefaultWorkers
	}
	if out.MaxPerEndpoint == 0 {
		out.MaxPerEndpoint = DefaultMaxPerEndpoint
	}
	if out.AttemptTimeout == 0 {
		out.AttemptTimeout = DefaultAttemptTimeout
	}
	if out.RetryPolicy == nil {
		out.RetryPolicy = ExponentialRetry{}
	}
	// A policy that can say it is misconfigured (ExponentialRetry) says so
	// now, not by quietly using its defaults for every retry.
	if v, ok := out.RetryPolicy.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return Config{}, &ValidationError{Field: "RetryPolicy." + ve.Field, Reason: ve.Reason, Err: ve.Err}
			}
			return Config{}, &ValidationError{Field: "RetryPolicy", Reason: err.Error(), Err: err}
		}
	}
	if out.MaxPayloadBytes == 0 {
		out.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if out.Scheme == "" {
		out.Scheme = SchemeOnplana
	}
	if out.EventHeader == "" {
		out.EventHeader = DefaultEventHeader
	}
	if out.SignatureHeader == "" {
		out.SignatureHeader = DefaultSignatureHeader
	}
	if out.PreviousSignatureHeader == "" {
		out.PreviousSignatureHeader = DefaultPreviousSignatureHeader
	}
	if out.DeliveryHeader == "" {
		out.DeliveryHeader = DefaultDeliveryHeader
	}
	if !validHeaderName(out.DeliveryHeader) {
		return Config{}, &ValidationError{Field: "DeliveryHeader", Reason: "not a valid header name"}
	}
	if out.UserAgent == "" {
		out.UserAgent = DefaultUserAgent
	}
	if !validUserAgent(out.UserAgent) {
		return Config{}, &ValidationError{Field: "UserAgent", Reason: "must be printable ASCII"}
	}
	if out.DisableAfter == 0 {
		out.DisableAfter = DefaultDisableAfter
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.PollInterval == 0 {
		out.PollInterval = DefaultPollInterval
	}
	if out.MaxRetryAfter == 0 {
		out.MaxRetryAfter = DefaultMaxRetryAfter
	}
	out.MaxSubscriptionsPerOrganization = cmp.Or(out.MaxSubscriptionsPerOrganization, DefaultMaxSubscriptionsPerOrganization)
	return out, nil
}

// validUserAgent reports whether s can be sent as a header value.
func validUserAgent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Observer is told about deliveries as they happen, for metrics. Its
// methods are called, concurrently, from the Dispatcher's goroutines
// (mostly the recorders that write the workers' results to the store) and
// must not block.
type Observer interface {
	// AttemptFinished is called after each attempt with its outcome, once
	// the attempt is recorded in the store; d holds the delivery's new
	// state (for a retry, its NextAttemptAt).
	AttemptFinished(d *Delivery, a *Attempt)
	// DeliveryStateChanged is called when a delivery ends (succeeded or failed).
	DeliveryStateChanged(d *Delivery)
}

// Dispatcher publishes events and delivers them to matching subscriptions
// through a Store. It is safe for concurrent use.
//
// Publish and the subscription methods work without Start: a process that
// only publishes (a web server) and one that only delivers (a worker
// started with Start) can share a durable store. Started, a Dispatcher
// claims due deliveries from the store with a lease, attempts each one
// over HTTP with at most Config.Workers attempts in flight and at most
// Config.MaxPerEndpoint to any one endpoint host, and records every
// attempt in the store's delivery log. A failed attempt is retried when
// Config.RetryPolicy says, until its retry window is spent; the schedule
// lives in the store, so a restart loses nothing.
//
// Each attempt POSTs the delivery's stored body, byte for byte the same on
// every retry, with Content-Type application/json, the User-Agent, the
// delivery id header and the signature headers of Config.Scheme (every
// unexpired secret of the subscription signs: with the Onplana scheme the
// newest in Config.SignatureHeader, always exactly one value, the others
// in Config.PreviousSignatureHeader; the Standard scheme signs a fresh
// timestamp each time). Its outcome:
//
//   - 2xx: succeeded, unless the answer's body outlasts the attempt
//     deadline (only a small snippet of it is read).
//   - 3xx: failed and retried; redirects are never followed.
//   - 410 Gone: failed, not retried, and the subscription is disabled.
//   - 429, 502, 503, 504: retried, not before a Retry-After the endpoint
//     sends (capped by Config.MaxRetryAfter).
//   - other statuses, timeouts (over connect, headers and body),
//     refused or reset connections, DNS and TLS failures, addresses the
//     SSRF guard refuses: retried.
//
// Every attempt is in the log with its time, status, latency, ErrorClass,
// error (endpoint URL redacted) and response snippet. Pings are attempted
// once and never retried. An endpoint failing for Config.DisableAfter
// without a success is disabled and Config.OnDisable is called.
//
// Each delivery is sent with its subscription as the store's Claim read it
// (see Claimed), or as read again when the claim returned more than 250 ms
// ago or this Dispatcher changed the subscription since: so a change made
// through this Dispatcher (an edit, a rotation, disabling, a 410,
// deletion) applies to every delivery whose attempt has not started, and a
// change made elsewhere (another process, the store directly) to those
// claimed after it or waiting longer than 250 ms. A delivery whose subscription is found deleted is marked
// failed with a log entry saying so and is not sent. The deliveries of a
// disabled subscription stay pending, unclaimed, until it is enabled again.
type Dispatcher struct {
	store  Store
	cfg    Config
	client *http.Client
	// transport is the Transport of the client NewDispatcher made, which
	// attempts use directly (see send); nil with Config.HTTPClient.
	transport http.RoundTripper
	signer    resolvedSigner
	log       *slog.Logger
	// The constant headers of every attempt, canonical and ready to put in
	// a request's header map (their slices are shared: never modified).
	userAgent      []string
	deliveryHeader string
	now            func() time.Time
	lease          time.Duration
	// The extensions Config.Observer implements, if any.
	tracer   TraceObserver
	injector HeaderInjector

	mu       sync.Mutex
	started  bool
	closing  bool
	closed   chan struct{}      // closed by the first Close
	stopLoop context.CancelFunc // stops claiming
	abort    context.CancelFunc // cancels in-flight attempts
	done     chan struct{}      // closed when the loop and every worker have exited
	nextDue  time.Time          // earliest retry or release this process scheduled

	runCtx    context.Context    // parent of attempts; ended by abort
	storeBase atomic.Value       // context.Context: runCtx without its cancellation, once started
	records   chan pendingRecord // attempts for the recorders
	recorders sync.WaitGroup
	wake      chan struct{} // nudges the loop: new work or an earlier due time
	room      chan struct{} // nudges the loop: room in the endpoint queues
	workers   sync.WaitGroup

	claimMu sync.RWMutex // claimers share it; Ping holds it alone (see holdNew)

	queues *endpointQueues // claimed deliveries waiting for their endpoint

	subMu   sync.Mutex           // serialises this process's read-modify-writes of subscriptions
	changes *subscriptionChanges // when this process last changed each subscription
}

// NewDispatcher returns a Dispatcher over store; cfg may be nil. It returns
// a *ValidationError naming the field when cfg is invalid. The Dispatcher
// does not deliver until Start.
func NewDispatcher(store Store, cfg *Config) (*Dispatcher, error) {
	if store == nil {
		return nil, &ValidationError{Field: "store", Reason: "must not be nil"}
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	signer, err := Signer{
		Scheme:                  c.Scheme,
		EventHeader:             c.EventHeader,
		SignatureHeader:         c.SignatureHeader,
		PreviousSignatureHeader: c.PreviousSignatureHeader,
	}.resolved()
	if err != nil {
		return nil, err
	}
	client := c.HTTPClient
	var rt http.RoundTripper
	if client == nil {
		client, err = NewClient(ClientConfig{
			Timeout:              c.AttemptTimeout,
			AllowPrivateNetworks: c.AllowPrivateNetworks,
			AllowedNetworks:      c.AllowedNetworks,
			MaxIdleConnsPerHost:  max(c.MaxPerEndpoint, DefaultMaxIdleConnsPerHost),
		})
		if err != nil {
			return nil, err
		}
		// Every attempt has a context deadline of AttemptTimeout, as with
		// a client of the host's. The client's own timeout and its
		// transport's wait for response headers, both AttemptTimeout too,
		// could never expire first: they would only add two timers and a
		// copy of each request.
		client.Timeout = 0
		if t, ok := client.Transport.(*http.Transport); ok {
			t.ResponseHeaderTimeout = 0
		}
		rt = client.Transport
	}
	d := &Dispatcher{
		store:          store,
		cfg:            c,
		client:         client,
		transport:      rt,
		signer:         signer,
		log:            c.Logger,
		userAgent:      []string{c.UserAgent},
		deliveryHeader: http.CanonicalHeaderKey(c.DeliveryHeader),
		changes:        newSubscriptionChanges(),
		now:            c.Now,
		lease:          c.AttemptTimeout + leaseMargin,
		closed:         make(chan struct{}),
		done:           make(chan struct{}),
		wake:           make(chan struct{}, 1),
		room:           make(chan struct{}, 1),
		queues:         newEndpointQueues(c.Workers, c.MaxPerEndpoint),
	}
	d.tracer, _ = c.Observer.(TraceObserver)
	d.injector, _ = c.Observer.(HeaderInjector)
	return d, nil
}

// Start starts the workers. They run until Close, or until ctx ends, which
// stops claiming as Close does (in-flight attempts finish; call Close to
// wait for them). Start returns ErrClosed after Close and
// ErrAlreadyStarted when called twice.
func (d *Dispatcher) Start(ctx context.Context) error {
	if ctx == nil {
		return &ValidationError{Field: "ctx", Reason: "must not be nil"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return ErrClosed
	}
	if d.started {
		return ErrAlreadyStarted
	}
	d.started = true
	loopCtx, stop := context.WithCancel(ctx)
	runCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	d.stopLoop, d.abort, d.runCtx = stop, abort, runCtx
	storeBase := context.WithoutCancel(runCtx)
	d.storeBase.Store(storeBase)
	d.records = make(chan pendingRecord, recordersPerWorker*d.cfg.Workers)
	d.recorders.Add(recordersPerWorker * d.cfg.Workers)
	for range recordersPerWorker * d.cfg.Workers {
		go d.recorder(storeBase)
	}
	go d.loop(loopCtx)
	return nil
}

// Close stops claiming, waits for in-flight attempts (their results are
// recorded), and leaves the rest pending in the store for the next
// Dispatcher. If ctx ends first, Close cancels the attempts still running,
// returns their deliveries to pending without recording an attempt, waits
// for the workers to exit and returns ctx.Err(). After Close, Publish,
// Ping and the subscription methods return ErrClosed. Calling Close again
// is safe: it waits the same way.
func (d *Dispatcher) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	d.mu.Lock()
	if !d.closing {
		d.closing = true
		close(d.closed)
		if d.stopLoop != nil {
			d.stopLoop()
		}
	}
	started := d.started
	d.mu.Unlock()
	var err error
	if started {
		select {
		case <-d.done:
		case <-ctx.Done():
			d.abort()
			<-d.done
			err = ctx.Err()
		}
	}
	if d.cfg.HTTPClient == nil {
		// The client is ours: drop its keep-alive connections (and their
		// goroutines) now rather than after the idle timeout.
		d.client.CloseIdleConnections()
	}
	return err
}

// isClosed reports whether Close has been called.
func (d *Dispatcher) isClosed() bool {
	select {
	case <-d.closed:
		return true
	default:
		return false
	}
}

// Publish validates e, enqueues one delivery of it per matching enabled
// subscription, and returns once they are all in the store (or none is,
// on error). An empty e.ID gets a new "evt_…" id and a zero Timestamp the
// current time. Publish does not need Start; it returns ErrClosed after
// Close, a *ValidationError naming the field for an event that is invalid
// or that its catalog entry forbids (see NewDeliveries: a project-scoped
// type without ProjectID, data without its resource, an update without
// data.diff), then the error of Config.Validator if it refuses the event,
// an error wrapping ErrPayloadTooLarge for an envelope over
// Config.MaxPayloadBytes, and store errors wrapped. An event no
// subscription matches is valid and dropped. When Config.Observer is a
// TraceObserver, every delivery keeps the trace context of ctx.
func (d *Dispatcher) Publish(ctx context.Context, e Event) error {
	if d.isClosed() {
		return ErrClosed
	}
	if err := validatePublished(&e); err != nil {
		return err
	}
	now := d.now()
	completeEvent(&e, now)
	if v := d.cfg.Validator; v != nil {
		if err := v.ValidateEvent(&e); err != nil {
			return err
		}
	}
	ids, err := d.store.MatchSubscriptionIDs(ctx, e.OrganizationID, e.ProjectID, e.Type)
	if err != nil {
		return fmt.Errorf("webhook: publish: match subscriptions: %w", err)
	}
	dls, err := newDeliveries(e, ids, now, d.cfg.MaxPayloadBytes)
	if err != nil || len(dls) == 0 {
		return err
	}
	if d.tracer != nil {
		if tc := d.tracer.TraceContext(ctx); tc != "" {
			for _, dl := range dls {
				dl.TraceContext = tc
			}
		}
	}
	if err := d.store.Enqueue(ctx, dls); err != nil {
		return fmt.Errorf("webhook: publish: enqueue: %w", err)
	}
	d.nudge()
	return nil
}

// Redeliver schedules a failed (or succeeded) delivery to be sent again
// now, keeping its id, body and delivery log. It returns ErrNotFound for
// an unknown id and ErrConflict for a delivery still pending or
// delivering. A redelivered delivery is retried only while the retry
// window counted from its creation lasts, so a redelivery of an old
// delivery gets one attempt.
func (d *Dispatcher) Redeliver(ctx context.Context, deliveryID string) error {
	if d.isClosed() {
		return ErrClosed
	}
	if deliveryID == "" {
		return &ValidationError{Field: "deliveryID", Reason: "required"}
	}
	if err := d.store.Redeliver(ctx, deliveryID, d.now()); err != nil {
		return fmt.Errorf("webhook: redeliver %s: %w", deliveryID, err)
	}
	d.nudge()
	return nil
}
