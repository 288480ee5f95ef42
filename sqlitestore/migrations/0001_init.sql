-- 0001: subscriptions, their pattern index, the delivery queue and log.
-- Times are INTEGER nanoseconds since the Unix epoch; 0 is the zero time.

CREATE TABLE subscriptions (
    id              TEXT    PRIMARY KEY, -- ids sort by creation time: lists order by id
    organization_id TEXT    NOT NULL,
    project_id      TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL,
    event_types     TEXT    NOT NULL, -- JSON array, as given
    description     TEXT    NOT NULL DEFAULT '',
    disabled        INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT    NOT NULL DEFAULT '',
    secrets         TEXT    NOT NULL DEFAULT '[]',
    failing_since   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX subscriptions_org ON subscriptions (organization_id, id);

-- One row per (subscription, pattern): matching looks up the three patterns
-- of an event type in the organization, never scanning subscriptions.
CREATE TABLE subscription_patterns (
    organization_id TEXT NOT NULL,
    pattern         TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, pattern, project_id, subscription_id)
) WITHOUT ROWID;

CREATE INDEX subscription_patterns_sub ON subscription_patterns (subscription_id);

CREATE TABLE deliveries (
    id               TEXT    PRIMARY KEY,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    subscription_id  TEXT    NOT NULL, -- no foreign key: the log outlives its subscription
    organization_id  TEXT    NOT NULL,
    project_id       TEXT    NOT NULL DEFAULT '',
    body             BLOB    NOT NULL,
    state            TEXT    NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_expires_at INTEGER NOT NULL DEFAULT 0,
    -- due_at: next_attempt_at while pending, lease_expires_at while
    -- delivering; one ordered index serves Claim for both.
    due_at           INTEGER NOT NULL,
    -- held: the subscription is disabled or gone; the row waits.
    held             INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state IN ('pending', 'delivering') AND held = 0;
CREATE INDEX deliveries_org ON deliveries (organization_id, id);
CREATE INDEX deliveries_sub ON deliveries (subscription_id, id);
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state IN ('succeeded', 'failed');

CREATE TABLE attempts (
    delivery_id      TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ns      INTEGER NOT NULL,
    status_code      INTEGER NOT NULL DEFAULT 0,
    error_class      TEXT    NOT NULL DEFAULT '',
    error            TEXT    NOT NULL DEFAULT '',
    response_snippet TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
