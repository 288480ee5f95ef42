package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/onplana/webhook"
)

// PublishTx records one delivery of e per matching subscription inside the
// caller's transaction tx: the transactional outbox. Nothing is delivered
// unless tx commits; if it rolls back, the deliveries vanish with the rest
// of the business change, and once it commits they are durable and a
// Dispatcher on this database sends them (woken by a NOTIFY that PostgreSQL
// delivers at commit).
//
// It validates e as Dispatcher.Publish does, refusing with a
// *webhook.ValidationError naming the field what e's catalog entry forbids
// (see webhook.NewDeliveries) and then, if Config.Validator is set, what it
// refuses (it sees e before its ID and Timestamp are filled). It builds the
// same bodies as Publish, filling an empty event ID and a zero Timestamp,
// and returns the deliveries it recorded, with the trace context of ctx
// when Config.TraceContext is set. Subscription matching reads
// through tx, so it sees the transaction's own uncommitted subscriptions.
// An error leaves tx usable only for rollback if PostgreSQL aborted it.
func (s *Store) PublishTx(ctx context.Context, tx pgx.Tx, e webhook.Event) ([]*webhook.Delivery, error) {
	if tx == nil {
		return nil, &webhook.ValidationError{Field: "tx", Reason: "must not be nil"}
	}
	now := ts(s.now())
	// Validate before touching the database; NewDeliveries with no
	// subscriptions only validates.
	if _, err := webhook.NewDeliveries(e, nil, now, s.maxBytes); err != nil {
		return nil, err
	}
	if s.validator != nil {
		if err := s.validator.ValidateEvent(&e); err != nil {
			return nil, err
		}
	}
	ids, err := matchSubscriptionIDs(ctx, tx, e.OrganizationID, e.ProjectID, e.Type)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ds, err := webhook.NewDeliveries(e, ids, now, s.maxBytes)
	if err != nil {
		return nil, err
	}
	if s.traceCtx != nil {
		if tc := s.traceCtx(ctx); tc != "" {
			for _, d := range ds {
				d.TraceContext = tc
			}
		}
	}
	if err := enqueue(ctx, tx, s.channel, now, ds); err != nil {
		return nil, err
	}
	return ds, nil
}
