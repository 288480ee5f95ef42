package webhook

import (
	"fmt"
	"log/slog"
	"time"
)

// Reasons a subscription is disabled, stored in Subscription.DisabledReason.
const (
	// DisabledByUser is the reason of SetSubscriptionEnabled(…, false).
	DisabledByUser = "disabled by a user"
	// DisabledGone is the reason when the endpoint answered 410 Gone.
	DisabledGone = "endpoint answered 410 Gone"
)

// Endpoint health. A subscription's FailingSince is the start of its
// current run of failed attempts: set by the first failure after a
// success, cleared by the next success. When a failure comes DisableAfter
// or more after FailingSince, the subscription is disabled and the host is
// told through Config.OnDisable; a 410 Gone disables it at once. Only
// SetSubscriptionEnabled enables it again, which also clears FailingSince.
//
// Health writes happen on transitions only (the first failure, the first
// success after failures, disabling), so the store sees no extra write on
// the common path. Like every read-modify-write of a subscription by the
// Dispatcher (UpdateSubscription, SetSubscriptionEnabled, RotateSecret),
// they are serialised within the process, so no change is lost to a
// concurrent one and OnDisable is called once per disabling. The Store
// interface has no compare-and-swap, so two processes changing the same
// subscription at the same instant can still overwrite each other.

// updateHealth applies the outcome of an attempt to sub's health. sub is
// the subscription as loaded before the attempt; it is reloaded before
// any write.
func (d *Dispatcher) updateHealth(sub *Subscription, a *Attempt, out outcome) {
	if out.aborted || sub.Disabled {
		return // a ping to a disabled subscription does not change its health
	}
	at := a.StartedAt
	switch {
	case out.success:
		if sub.FailingSince.IsZero() {
			return
		}
		d.modifyHealth(sub.ID, func(s *Subscription) (string, bool) {
			if s.FailingSince.IsZero() {
				return "", false
			}
			s.FailingSince = time.Time{}
			return "", true
		})
	case out.gone:
		d.modifyHealth(sub.ID, func(s *Subscription) (string, bool) {
			if s.Disabled {
				return "", false
			}
			return DisabledGone, true
		})
	default:
		if !sub.FailingSince.IsZero() && at.Sub(sub.FailingSince) < d.cfg.DisableAfter {
			return
		}
		d.modifyHealth(sub.ID, func(s *Subscription) (string, bool) {
			switch {
			case s.Disabled:
				return "", false
			case s.FailingSince.IsZero():
				s.FailingSince = at
				return "", true
			case at.Sub(s.FailingSince) >= d.cfg.DisableAfter:
				return fmt.Sprintf("no successful delivery since %s (failing for %s or more)",
					s.FailingSince.UTC().Format(time.RFC3339), d.cfg.DisableAfter), true
			}
			return "", false
		})
	}
}

// modifyHealth reloads subscription id, lets change modify it, and stores
// it when change reports a modification. A non-empty reason from change
// disables the subscription with that reason and calls OnDisable.
func (d *Dispatcher) modifyHealth(id string, change func(*Subscription) (reason string, changed bool)) {
	ctx, cancel := d.storeContext()
	defer cancel()
	d.subMu.Lock()
	sub, err := d.store.GetSubscription(ctx, id)
	if err != nil {
		d.subMu.Unlock()
		d.log.LogAttrs(ctx, slog.LevelWarn, "webhook: update endpoint health",
			slog.String("subscription_id", id), slog.String("error", err.Error()))
		return
	}
	reason, changed := change(sub)
	if !changed {
		d.subMu.Unlock()
		return
	}
	if reason != "" {
		sub.Disabled = true
		sub.DisabledReason = reason
	}
	err = d.writeSubscription(ctx, sub)
	d.subMu.Unlock()
	if err != nil {
		d.log.LogAttrs(ctx, slog.LevelError, "webhook: update endpoint health",
			slog.String("subscription_id", id), slog.String("error", err.Error()))
		return
	}
	if reason == "" {
		return
	}
	d.log.LogAttrs(ctx, slog.LevelWarn, "webhook: subscription disabled",
		slog.String("subscription_id", sub.ID), slog.String("organization_id", sub.OrganizationID),
		slog.String("endpoint", RedactURL(sub.URL)), slog.String("reason", reason))
	if o, ok := d.cfg.Observer.(DisableObserver); ok {
		o.SubscriptionDisabled(sub, reason)
	}
	if d.cfg.OnDisable != nil {
		d.cfg.OnDisable(d.runCtxOrBackground(), sub, reason)
	}
}
