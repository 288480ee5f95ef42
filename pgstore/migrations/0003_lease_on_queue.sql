-- 0003: the lease lives on the queue row alone, and attempts lose their
-- identity column, so that claiming and completing write less per delivery.
-- A process still running the pgstore of schema 0002 fails its claims and
-- completes once this is applied (it writes columns that are gone): upgrade
-- every process together. Nothing is lost: a lease such a process holds
-- expires and the delivery is claimed again, or completed by its holder if
-- that holder is already the new code.

-- A delivery is delivering exactly while its queue row has lease_expires_at
-- set; reads derive State and LeaseExpiresAt from a LEFT JOIN on
-- webhook_queue. Claim then updates only the narrow queue row instead of
-- also writing a new version of the wide delivery row (its body included):
-- about 11 µs of PostgreSQL time less per delivery. claimed_at is the now
-- of the claim that holds the lease, what a delivering delivery reports as
-- UpdatedAt; it is NULL whenever lease_expires_at is.
ALTER TABLE webhook_queue ADD COLUMN claimed_at timestamptz;

-- The queue row keeps a copy of its delivery's attempt_count, written in
-- the same statements. Claim reads the delivery rows it leases in its
-- statement's snapshot, without locking them (a row lock is a write per
-- delivery): when the holder of an expired lease completes it
-- concurrently, the queue row Claim locks is the new one and the delivery
-- row it read the old one, which their attempt counts tell apart, and
-- Claim reads that delivery again.
ALTER TABLE webhook_queue ADD COLUMN attempt_count integer NOT NULL DEFAULT 0;
UPDATE webhook_queue q SET attempt_count = d.attempt_count
FROM webhook_deliveries d
WHERE d.id = q.delivery_id AND d.attempt_count <> 0;

-- Deliveries leased under 0002 keep their lease, on the queue row, and the
-- time they were claimed; their delivery rows go back to 'pending', the
-- state they return to when the lease ends. The queue is small; the
-- delivery log is reached through its primary key.
UPDATE webhook_queue q SET claimed_at = d.updated_at
FROM webhook_deliveries d
WHERE q.lease_expires_at IS NOT NULL AND d.id = q.delivery_id;

UPDATE webhook_deliveries d SET state = 'pending'
FROM webhook_queue q
WHERE q.lease_expires_at IS NOT NULL AND d.id = q.delivery_id AND d.state = 'delivering';

ALTER TABLE webhook_deliveries DROP COLUMN lease_expires_at;

-- The stored state is pending, succeeded or failed. NOT VALID: rows
-- written from now on are checked, without a scan of the whole log under
-- this migration's lock (no row written by pgstore is 'delivering' once
-- the update above has run).
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_state_check
    CHECK (state IN ('pending', 'succeeded', 'failed')) NOT VALID;

-- Attempts are found by delivery and listed by number (then start time),
-- never by their own id: the identity column cost a sequence increment and
-- a second index entry per inserted attempt (about 3 µs per delivery in
-- Complete). The (delivery_id, number) index stays and stays non-unique:
-- the Store contract takes the attempt number from the caller, and one
-- duplicate in a group-committed Complete would fail every Complete of the
-- batch. Without a primary key, REPLICA IDENTITY FULL keeps DELETEs (Prune,
-- DeleteSubscription) possible if the host publishes all its tables for
-- logical replication; it costs nothing unless wal_level is logical.
ALTER TABLE webhook_attempts DROP COLUMN id;
ALTER TABLE webhook_attempts REPLICA IDENTITY FULL;
