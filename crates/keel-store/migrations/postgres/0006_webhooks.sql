-- Keel schema, version 6 (PostgreSQL): webhooks and their persisted delivery queue.
-- Webhooks are soft-deleted (`deleted_time`), as in the reference; live rows have it NULL.
-- `secret` holds the secret sealed by the service (AES-256-GCM), never the plain text.

CREATE TABLE webhooks (
    webhook_id        TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    description       TEXT,
    url               TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    secret            TEXT,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    deleted_time      BIGINT
);
CREATE INDEX webhooks_live_by_creation ON webhooks (creation_time DESC, webhook_id DESC)
    WHERE deleted_time IS NULL;

-- The events each webhook subscribes to (`entity` and `action` in their lower-case names).
CREATE TABLE webhook_events (
    webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity     TEXT NOT NULL,
    action     TEXT NOT NULL,
    PRIMARY KEY (webhook_id, entity, action)
);
CREATE INDEX webhook_events_by_event ON webhook_events (entity, action, webhook_id);

-- One row per (event x subscribed webhook). A worker claims due PENDING rows by setting a
-- lease (`lease_owner`, `lease_until`); a lease that expires (a crashed worker) makes the row
-- claimable again. `attempts` counts claims. `payload` is the exact body sent and signed.
CREATE TABLE webhook_deliveries (
    delivery_id      TEXT    PRIMARY KEY,
    webhook_id       TEXT    NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity           TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_status_code INTEGER,
    last_error       TEXT,
    created_time     BIGINT NOT NULL,
    updated_time     BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_by_webhook
    ON webhook_deliveries (webhook_id, created_time DESC, delivery_id DESC);
-- Finished deliveries are pruned after the retention period (oldest first).
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_time)
    WHERE status <> 'PENDING';
-- Claims use FOR UPDATE SKIP LOCKED on the due rows, so replicas never claim the same row at
-- once; the lease keeps it theirs after the claiming transaction commits.
