package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"
)

// maxDescriptionLength caps a subscription's description, in bytes.
const maxDescriptionLength = 1024

// SubscriptionParams describes a subscription to create or update.
type SubscriptionParams struct {
	// OrganizationID owns the subscription. Required at creation; on update
	// it must be empty or unchanged.
	OrganizationID string
	// ProjectID limits the subscription to one project; empty means
	// organization-wide.
	ProjectID string
	// URL is the endpoint: an absolute https URL (http with Config.AllowHTTP)
	// with a host and without credentials or fragment. Literal non-public
	// addresses are refused unless the SSRF guard allows them.
	URL string
	// EventTypes are the types delivered: exact types, category wildcards
	// ("task.*") or "*"; at least one, each known, none repeated.
	EventTypes []string
	// Description helps future maintainers (at most 1024 bytes).
	Description string
	// Secret, if set, is the subscription's first signing secret instead
	// of a new one: for customers migrating from another webhook system
	// who keep their receivers' secret. Used by CreateSubscription only;
	// to change the secret of a subscription, use RotateSecret. Defaults
	// to empty: NewSecret makes one.
	//
	// CreateSubscription accepts the whsec_ form (SecretPrefix followed by
	// standard base64, padded or not, of MinImportedKeyLength to
	// MaxImportedKeyLength bytes, as NewSecret, Svix and Stripe make them),
	// and with SchemeOnplana also any other string of
	// MinImportedSecretLength to MaxImportedSecretLength printable ASCII
	// characters without spaces. The characters must not be a short
	// pattern repeated, and the entropy they show, counted from how often
	// each character occurs, must reach 80 bits: placeholders and patterns
	// are refused with a *ValidationError for "Secret" wrapping
	// ErrWeakSecret, which never contains the secret.
	Secret Secret
}

// validate checks p as a whole subscription; every error is a
// *ValidationError naming the field.
func (d *Dispatcher) validateParams(p *SubscriptionParams) error {
	if p.OrganizationID == "" {
		return &ValidationError{Field: "OrganizationID", Reason: "required"}
	}
	if err := validateID("OrganizationID", p.OrganizationID); err != nil {
		return err
	}
	if err := validateID("ProjectID", p.ProjectID); err != nil {
		return err
	}
	guard := &netGuard{AllowPrivateNetworks: d.cfg.AllowPrivateNetworks, AllowedNetworks: d.cfg.AllowedNetworks}
	if err := validateEndpointURL(p.URL, d.cfg.AllowHTTP, guard); err != nil {
		return d.withConfigHint(p.URL, err)
	}
	if err := validateEventTypes(p.EventTypes); err != nil {
		return err
	}
	if len(p.Description) > maxDescriptionLength {
		return &ValidationError{Field: "Description", Reason: fmt.Sprintf("longer than %d bytes", maxDescriptionLength)}
	}
	if !utf8.ValidString(p.Description) {
		return &ValidationError{Field: "Description", Reason: "not valid UTF-8"}
	}
	return nil
}

// SubscriptionLimitError is returned by CreateSubscription when the
// organization already has Limit subscriptions (Config.MaxSubscriptionsPerOrganization).
type SubscriptionLimitError struct {
	OrganizationID string
	Limit          int
}

// Error names the organization and the limit.
func (e *SubscriptionLimitError) Error() string {
	return fmt.Sprintf("webhook: organization %s has reached its limit of %d subscriptions", e.OrganizationID, e.Limit)
}

// CreateSubscription validates p, creates the subscription with a new secret
// (or p.Secret) and sends it a webhook.ping. The secret is in the returned
// Subscription's Secrets[0]; it is shown to the user once.
//
// The ping is enqueued like any delivery (one attempt, not retried) and
// sent by the workers: an endpoint that is down does not fail the creation,
// and the ping's outcome is in the delivery log. Errors: ErrClosed after
// Close, a *ValidationError naming the invalid field, a
// *SubscriptionLimitError when the organization has
// Config.MaxSubscriptionsPerOrganization subscriptions, or the store's
// error. The limit is checked and the subscription created under a lock of
// this Dispatcher; Dispatchers in other processes creating subscriptions
// of one organization at the same moment may pass it by a few.
func (d *Dispatcher) CreateSubscription(ctx context.Context, p SubscriptionParams) (*Subscription, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	if err := d.validateParams(&p); err != nil {
		return nil, err
	}
	secret, err := d.firstSecret(p.Secret)
	if err != nil {
		return nil, err
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	if err := d.checkSubscriptionLimit(ctx, p.OrganizationID); err != nil {
		return nil, err
	}
	now := d.now().UTC()
	sub := &Subscription{
		ID:             newID(prefixSubscription, now),
		OrganizationID: p.OrganizationID,
		ProjectID:      p.ProjectID,
		URL:            p.URL,
		EventTypes:     slices.Clone(p.EventTypes),
		Description:    p.Description,
		Secrets:        []SigningSecret{{Secret: secret, CreatedAt: now}},
	}
	if err := d.store.CreateSubscription(ctx, sub); err != nil {
		return nil, fmt.Errorf("webhook: create subscription: %w", err)
	}
	ping, err := d.pingDelivery(sub, now)
	if err == nil {
		err = d.store.Enqueue(ctx, []*Delivery{ping})
	}
	if err != nil {
		// The subscription exists: report the ping's failure in the log,
		// not as a failed creation the caller would retry.
		d.log.LogAttrs(ctx, slog.LevelError, "webhook: enqueue creation ping",
			slog.String("subscription_id", sub.ID), slog.String("error", err.Error()))
	} else {
		d.nudge()
	}
	return sub, nil
}

// checkSubscriptionLimit returns a *SubscriptionLimitError if organization
// has its Config.MaxSubscriptionsPerOrganization subscriptions already. It
// counts them a page at a time, stopping at the limit.
func (d *Dispatcher) checkSubscriptionLimit(ctx context.Context, organizationID string) error {
	limit := d.cfg.MaxSubscriptionsPerOrganization
	page := Page{Limit: min(limit, MaxPageSize)}
	for n := 0; ; {
		subs, next, err := d.store.ListSubscriptions(ctx, organizationID, page)
		if err != nil {
			return fmt.Errorf("webhook: count subscriptions of %s: %w", organizationID, err)
		}
		if n += len(subs); n >= limit {
			return &SubscriptionLimitError{OrganizationID: organizationID, Limit: limit}
		}
		if next == "" {
			return nil
		}
		page.Cursor = next
	}
}

// pingDelivery builds a webhook.ping delivery to sub.
func (d *Dispatcher) pingDelivery(sub *Subscription, now time.Time) (*Delivery, error) {
	data, err := json.Marshal(newPingData(sub))
	if err != nil {
		return nil, fmt.Errorf("webhook: encode ping: %w", err)
	}
	e := Event{Type: EventPing, OrganizationID: sub.OrganizationID, Data: data}
	dls, err := newDeliveries(e, []string{sub.ID}, now, d.cfg.MaxPayloadBytes)
	if err != nil {
		return nil, err
	}
	return dls[0], nil
}

// UpdateSubscription changes URL, EventTypes, ProjectID and Description
// (all of them: p describes the whole subscription, validated as at
// creation). p.OrganizationID must be empty or the subscription's own.
// Changing the URL clears the endpoint's failure record (FailingSince).
// Secrets and the enabled state are unchanged: see RotateSecret and
// SetSubscriptionEnabled. Errors: ErrClosed, ErrNotFound, a
// *ValidationError, or the store's error.
func (d *Dispatcher) UpdateSubscription(ctx context.Context, id string, p SubscriptionParams) (*Subscription, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	sub, err := d.getSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.OrganizationID == "" {
		p.OrganizationID = sub.OrganizationID
	} else if p.OrganizationID != sub.OrganizationID {
		return nil, &ValidationError{Field: "OrganizationID", Reason: "cannot change"}
	}
	if p.Secret != "" {
		return nil, &ValidationError{Field: "Secret", Reason: "is set at creation only; change it with RotateSecret"}
	}
	if err := d.validateParams(&p); err != nil {
		return nil, err
	}
	if p.URL != sub.URL {
		sub.FailingSince = time.Time{}
	}
	sub.URL = p.URL
	sub.ProjectID = p.ProjectID
	sub.EventTypes = slices.Clone(p.EventTypes)
	sub.Description = p.Description
	if err := d.writeSubscription(ctx, sub); err != nil {
		return nil, fmt.Errorf("webhook: update subscription %s: %w", id, err)
	}
	return sub, nil
}

// SetSubscriptionEnabled enables or disables a subscription. Enabling
// clears DisabledReason and the failure record (FailingSince), so an
// endpoint disabled for failing gets a fresh DisableAfter period; its
// pending deliveries are sent again. Disabling records DisabledByUser;
// while disabled, events published are not enqueued for it (they are not
// sent after it is enabled again either) and pending deliveries wait,
// including those a worker has already claimed. Errors: ErrClosed,
// ErrNotFound or the store's error.
func (d *Dispatcher) SetSubscriptionEnabled(ctx context.Context, id string, enabled bool) (*Subscription, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	sub, err := d.getSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	if enabled {
		sub.Disabled, sub.DisabledReason, sub.FailingSince = false, "", time.Time{}
	} else if !sub.Disabled {
		sub.Disabled, sub.DisabledReason = true, DisabledByUser
	}
	if err := d.writeSubscription(ctx, sub); err != nil {
		return nil, fmt.Errorf("webhook: update subscription %s: %w", id, err)
	}
	if enabled {
		d.nudge()
	}
	return sub, nil
}

// RotateSecret gives the subscription a new current secret; the previous
// one keeps signing for grace. It returns the new secret.
//
// During the grace period every delivery carries one signature per
// unexpired secret: with the Onplana scheme, the new secret's alone in
// Config.SignatureHeader (X-Onplana-Signature), as every receiver written
// from the Onplana guide expects, and the old ones' in
// Config.PreviousSignatureHeader (X-Onplana-Signature-Previous), which
// this package's Receiver also checks. So a receiver holding the new secret accepts every delivery at once, and one
// built on this package and still holding only the old secret keeps
// accepting them until the grace period ends; afterwards only the new
// secret signs. A hand-written receiver still holding the old secret must
// compare it with each entry of the previous-signatures header, or switch
// to the new secret when it is issued.
//
// grace 0 means DefaultRotationGrace; RotateImmediately (any negative
// grace) stops the old secrets at once, for a secret that leaked. Secrets
// already expired are dropped, and at most MaxSignatures secrets are kept
// (the oldest go first). Errors: ErrClosed, ErrNotFound or the store's
// error.
func (d *Dispatcher) RotateSecret(ctx context.Context, id string, grace time.Duration) (Secret, error) {
	if d.isClosed() {
		return "", ErrClosed
	}
	if grace == 0 {
		grace = DefaultRotationGrace
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	sub, err := d.getSubscription(ctx, id)
	if err != nil {
		return "", err
	}
	now := d.now().UTC()
	fresh := NewSecret()
	secrets := []SigningSecret{{Secret: fresh, CreatedAt: now}}
	if grace > 0 {
		until := now.Add(grace)
		for _, s := range sub.Secrets {
			if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
				continue // expired
			}
			if s.ExpiresAt.IsZero() || s.ExpiresAt.After(until) {
				s.ExpiresAt = until
			}
			if len(secrets) < MaxSignatures {
				secrets = append(secrets, s)
			}
		}
	}
	sub.Secrets = secrets
	if err := d.writeSubscription(ctx, sub); err != nil {
		return "", fmt.Errorf("webhook: rotate secret of %s: %w", id, err)
	}
	return fresh, nil
}

// Ping delivers a webhook.ping to the subscription now, records it in the
// delivery log, and returns the attempt (the seed's Test Ping button). A
// failed ping is not retried: check the returned Attempt's StatusCode and
// Error. Ping works without Start, and on a disabled subscription, to test
// an endpoint before enabling it again (that ping is sent but not recorded
// in the log, since stores hold no deliveries of a disabled subscription
// in flight). Like every attempt it takes one of the endpoint's
// Config.MaxPerEndpoint slots, waiting for one while they are all busy.
// It returns an error only when the ping could not be attempted:
// ErrClosed, ErrNotFound, a store error, or ctx's error if it ended while
// the ping waited for a slot.
func (d *Dispatcher) Ping(ctx context.Context, subscriptionID string) (*Attempt, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	sub, err := d.getSubscription(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	now := d.now()
	dl, err := d.pingDelivery(sub, now)
	if err != nil {
		return nil, err
	}
	if sub.Disabled {
		// Stores never hand out deliveries of a disabled subscription, so
		// this ping cannot go through the log: send it unrecorded.
		a, _, err := d.attemptNow(ctx, sub, dl)
		return a, err
	}
	got, err := d.holdNew(ctx, dl)
	if err != nil {
		return nil, fmt.Errorf("webhook: ping %s: %w", subscriptionID, err)
	}
	if got.Delivery == nil {
		// Another dispatcher process claimed the ping first: report its
		// attempt once it is recorded.
		return d.awaitAttempt(ctx, dl.ID)
	}
	if got.Subscription != nil && got.Subscription.ID == sub.ID {
		sub = got.Subscription // as the claim read it, like any delivery
	}
	a, out, err := d.attemptNow(ctx, sub, got.Delivery)
	if err != nil {
		d.release(got.Delivery, d.now())
		return nil, fmt.Errorf("webhook: ping %s: %w", subscriptionID, err)
	}
	sctx, cancel := d.storeContext()
	defer cancel()
	d.record(sctx, sub, got.Delivery, a, out)
	return a, nil
}

// attemptNow makes an attempt of dl outside the workers, within the
// per-endpoint cap: it waits for a free slot of the endpoint, until ctx
// ends.
func (d *Dispatcher) attemptNow(ctx context.Context, sub *Subscription, dl *Delivery) (*Attempt, outcome, error) {
	ep := d.queues.lookup(sub.URL)
	q, err := d.queues.acquire(ctx, ep.key)
	if err != nil {
		return nil, outcome{}, err
	}
	a, out := d.attempt(ctx, sub, ep, dl, nil)
	d.queues.done(q, "", a.Duration)
	return a, out, nil
}

// pingEpoch is the due time of a delivery Ping is about to claim: earlier
// than any real delivery, so that Claim with this time as "now" selects it
// and nothing else.
var pingEpoch = time.Unix(0, 0).UTC()

// holdNew enqueues dl and claims it for the caller, so that its attempt can
// be recorded with Complete like any other. It returns no delivery when
// another process claimed it first.
func (d *Dispatcher) holdNew(ctx context.Context, dl *Delivery) (Claimed, error) {
	dl.NextAttemptAt = pingEpoch
	// Holding claimMu alone keeps this process's claimers, which take the
	// oldest due first, from taking the delivery between the two calls.
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	if err := d.store.Enqueue(ctx, []*Delivery{dl}); err != nil {
		return Claimed{}, err
	}
	// Claim computes the lease from the "now" it is given; measured from
	// pingEpoch, d.lease alone would have expired decades ago and a worker
	// would claim the ping again while it is being sent.
	got, err := d.store.Claim(ctx, pingEpoch, 1, d.now().Sub(pingEpoch)+d.lease, nil)
	if err != nil {
		return Claimed{}, err
	}
	for _, g := range got {
		if g.Delivery == nil {
			continue
		}
		if g.Delivery.ID == dl.ID {
			return g, nil
		}
		// Another process's ping, enqueued the same way: give it back.
		if err := d.store.Release(ctx, g.Delivery, pingEpoch); err != nil {
			return Claimed{}, err
		}
	}
	return Claimed{}, nil
}

// writeSubscription stores sub, which this Dispatcher changed, and notes
// the change, so that the deliveries already claimed for it are sent with
// the new version (see Dispatcher.subscription).
func (d *Dispatcher) writeSubscription(ctx context.Context, sub *Subscription) error {
	if err := d.store.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	d.changes.record(sub.ID)
	return nil
}

// DeleteSubscription deletes a subscription and its pending deliveries
// (the stores of this module keep their log). The deliveries this
// Dispatcher has claimed for it and not yet started are not sent: each is
// marked failed with a log entry saying why. An attempt already under way
// finishes, and another process sharing the store may still send what it
// claimed in the last 250 ms. Errors: ErrClosed, ErrNotFound or the
// store's error.
func (d *Dispatcher) DeleteSubscription(ctx context.Context, id string) error {
	if d.isClosed() {
		return ErrClosed
	}
	if id == "" {
		return &ValidationError{Field: "id", Reason: "required"}
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	if err := d.store.DeleteSubscription(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("webhook: subscription %s: %w", id, err)
		}
		return fmt.Errorf("webhook: delete subscription %s: %w", id, err)
	}
	d.changes.record(id)
	return nil
}

// awaitAttempt waits for the first attempt of delivery id to be recorded
// and returns it.
func (d *Dispatcher) awaitAttempt(ctx context.Context, id string) (*Attempt, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		as, err := d.store.ListAttempts(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(as) > 0 {
			return as[len(as)-1], nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// getSubscription loads a subscription, wrapping errors with its id.
func (d *Dispatcher) getSubscription(ctx context.Context, id string) (*Subscription, error) {
	if id == "" {
		return nil, &ValidationError{Field: "id", Reason: "required"}
	}
	sub, err := d.store.GetSubscription(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("webhook: subscription %s: %w", id, err)
		}
		return nil, fmt.Errorf("webhook: get subscription %s: %w", id, err)
	}
	return sub, nil
}
