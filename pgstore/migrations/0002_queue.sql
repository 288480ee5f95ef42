-- 0002: the queue moves out of the delivery log into a narrow table, so
-- that claiming and completing rewrite small rows with one ordered index
-- while the wide delivery row (its body included) is updated in place.

-- One row per pending or delivering delivery, deleted when it succeeds or
-- fails. due_at is when it may next be claimed: its next attempt while
-- pending, its lease's expiry while delivering (lease_expires_at set).
-- held is true while the subscription is disabled (or gone): the row
-- waits, out of the claim index, until the subscription is enabled.
-- subscription_id lets Claim skip disabled subscriptions without reading
-- the delivery. No foreign key: the statements that delete deliveries
-- delete their queue rows first.
CREATE TABLE webhook_queue (
    delivery_id      text        PRIMARY KEY,
    subscription_id  text        NOT NULL,
    due_at           timestamptz NOT NULL,
    lease_expires_at timestamptz,
    held             boolean     NOT NULL DEFAULT false
) WITH (fillfactor = 70); -- room on the page for the claim's and retry's new versions

CREATE INDEX webhook_queue_due ON webhook_queue (due_at) WHERE NOT held;

INSERT INTO webhook_queue (delivery_id, subscription_id, due_at, lease_expires_at, held)
SELECT id, subscription_id, due_at, CASE WHEN state = 'delivering' THEN lease_expires_at END, held
FROM webhook_deliveries
WHERE state IN ('pending', 'delivering');

-- The delivery row keeps state, lease and counters (what GetDelivery and
-- ListDeliveries return), but no index covers a column that Claim,
-- Complete, Release or Redeliver change, so those updates are HOT: no new
-- index entries. Prune finds old rows by created_at, which never changes,
-- instead of the partial index on updated_at and state.
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_finished;
ALTER TABLE webhook_deliveries DROP COLUMN due_at, DROP COLUMN held;
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
-- Free space on each page for HOT updates; applies to pages written from
-- now on.
ALTER TABLE webhook_deliveries SET (fillfactor = 70);

-- Attempts lose their foreign key, whose check ran per inserted attempt:
-- Complete inserts an attempt only for the delivery row it has just
-- updated, and Prune and DeleteSubscription delete a delivery's attempts in
-- the statement that deletes it.
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_delivery_id_fkey;
