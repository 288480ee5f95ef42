-- 0001: subscriptions, the delivery queue and the delivery log.
-- Table names carry a webhook_ prefix because they live beside the host
-- application's own tables (PublishTx writes in the host's transaction).

CREATE TABLE webhook_subscriptions (
    id              text        PRIMARY KEY, -- ids sort by creation time: lists order by id
    organization_id text        NOT NULL,
    project_id      text        NOT NULL DEFAULT '',
    url             text        NOT NULL,
    event_types     text[]      NOT NULL,
    description     text        NOT NULL DEFAULT '',
    disabled        boolean     NOT NULL DEFAULT false,
    disabled_reason text        NOT NULL DEFAULT '',
    secrets         jsonb       NOT NULL DEFAULT '[]',
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- Matching looks up (organization, project or '') and filters on the
-- patterns of the event type (GIN); listing pages through an organization by
-- id.
CREATE INDEX webhook_subscriptions_scope ON webhook_subscriptions (organization_id, project_id, id);
CREATE INDEX webhook_subscriptions_types ON webhook_subscriptions USING gin (event_types);

CREATE TABLE webhook_deliveries (
    id               text        PRIMARY KEY,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    subscription_id  text        NOT NULL, -- no foreign key: the log outlives its subscription
    organization_id  text        NOT NULL,
    project_id       text        NOT NULL DEFAULT '',
    body             bytea       NOT NULL,
    state            text        NOT NULL CHECK (state IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempt_count    integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_expires_at timestamptz,
    -- due_at is when the row may next be claimed: next_attempt_at while
    -- pending, lease_expires_at while delivering. One ordered index over it
    -- serves Claim for both fresh and abandoned work.
    due_at           timestamptz NOT NULL,
    -- held is true while the subscription is disabled (or gone): the row
    -- waits, out of the claim index, until the subscription is enabled.
    held             boolean     NOT NULL DEFAULT false,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at)
    WHERE state IN ('pending', 'delivering') AND NOT held;
CREATE INDEX webhook_deliveries_org ON webhook_deliveries (organization_id, id);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at)
    WHERE state IN ('succeeded', 'failed');

CREATE TABLE webhook_attempts (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number           integer     NOT NULL,
    started_at       timestamptz NOT NULL,
    duration_ns      bigint      NOT NULL,
    status_code      integer     NOT NULL DEFAULT 0,
    error_class      text        NOT NULL DEFAULT '',
    error            text        NOT NULL DEFAULT '',
    response_snippet text        NOT NULL DEFAULT ''
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, number);

-- Receiver-side idempotency keys (DedupeStore): a claim while the handler
-- runs, a done mark after it succeeded.
CREATE TABLE webhook_dedupe (
    key        text        PRIMARY KEY,
    done       boolean     NOT NULL DEFAULT false,
    expires_at timestamptz NOT NULL
);

CREATE INDEX webhook_dedupe_expires ON webhook_dedupe (expires_at);
