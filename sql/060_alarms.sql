-- 060_alarms: alarm rules per account, alarms with a lifecycle operators can trust (one active row per
-- rule and subject, enforced here rather than hoped for in code), notification channels, and an outbox
-- written in the same transaction as every alarm change so a delivery survives a restart (issue 13).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE alarm_rules (
    id             bigserial PRIMARY KEY,
    account_id     bigint REFERENCES accounts(id) ON DELETE CASCADE, -- NULL: a system rule (ingest), admins only
    kind           text NOT NULL CHECK (kind IN ('gateway_offline', 'meter_silent', 'meter_stuck',
                                                 'consumption_above', 'night_flow', 'spike', 'ingest_stalled')),
    name           text NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    severity       text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    gateway_id     bigint REFERENCES gateways(id) ON DELETE CASCADE, -- NULL: every gateway of the account
    device_id      bigint REFERENCES devices(id) ON DELETE CASCADE,  -- NULL: every device in scope
    metric_id      smallint REFERENCES metrics(id),                  -- NULL: every counter metric
    for_seconds    integer NOT NULL DEFAULT 0 CHECK (for_seconds BETWEEN 0 AND 604800),   -- true this long before raising
    clear_seconds  integer NOT NULL DEFAULT 0 CHECK (clear_seconds BETWEEN 0 AND 604800), -- false this long before clearing
    params         jsonb NOT NULL DEFAULT '{}', -- per kind: thresholds, windows (tds_dash/alarms/rules.py)
    builtin        boolean NOT NULL DEFAULT false, -- created by default for every account (gateway offline)
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((account_id IS NULL) = (kind = 'ingest_stalled'))
);
CREATE INDEX alarm_rules_account_idx ON alarm_rules (account_id);
-- One built-in rule per account and kind, so two processes creating defaults at once create one.
CREATE UNIQUE INDEX alarm_rules_builtin_idx ON alarm_rules (coalesce(account_id, 0), kind) WHERE builtin;

CREATE TABLE alarms (
    id               bigserial PRIMARY KEY,
    rule_id          bigint NOT NULL REFERENCES alarm_rules(id) ON DELETE CASCADE,
    account_id       bigint REFERENCES accounts(id) ON DELETE CASCADE, -- copied from the rule for scoped reads
    subject          text NOT NULL,  -- what it is about: 'gateway:12', 'device:34:1', 'account:3:1', 'ingest'
    gateway_id       bigint REFERENCES gateways(id) ON DELETE CASCADE,
    device_id        bigint REFERENCES devices(id) ON DELETE CASCADE,
    metric_id        smallint REFERENCES metrics(id),
    kind             text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    started_at       timestamptz NOT NULL, -- when the condition became true (the evidence, not the evaluation)
    raised_at        timestamptz NOT NULL,
    episode_at       timestamptz NOT NULL, -- start of the latest occurrence merged in (a re-raise moves it)
    last_at          timestamptz NOT NULL, -- latest re-raise
    count            integer NOT NULL DEFAULT 1 CHECK (count >= 1), -- occurrences while active
    suppressed       integer NOT NULL DEFAULT 0, -- gateway alarms: device alarms held back while it is offline
    value            double precision, -- the measured value that raised it (kWh, ratio…), when there is one
    threshold        double precision,
    detail           text NOT NULL DEFAULT '',
    clearing_since   timestamptz, -- hysteresis: the condition has been false since then (not yet cleared)
    acked_at         timestamptz,
    acked_by         text,
    ack_comment      text,
    cleared_at       timestamptz, -- NULL: active
    cleared_by       text,        -- NULL with cleared_at: cleared automatically
    clear_comment    text,
    notified_at      timestamptz, -- latest notification enqueued (re-notify counts from it)
    renotify_count   integer NOT NULL DEFAULT 0
);
-- The lifecycle's guarantee: at most one active alarm per rule and subject, whatever the number of
-- evaluators; a concurrent raise hits this index and becomes a no-op (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX alarms_active_idx ON alarms (rule_id, subject) WHERE cleared_at IS NULL;
CREATE INDEX alarms_account_idx ON alarms (account_id, raised_at DESC);
CREATE INDEX alarms_raised_idx ON alarms (raised_at DESC);

CREATE TABLE notification_channels (
    id           bigserial PRIMARY KEY,
    account_id   bigint REFERENCES accounts(id) ON DELETE CASCADE, -- NULL: admins' channel, gets every alarm
    type         text NOT NULL CHECK (type IN ('email', 'webhook')),
    name         text NOT NULL DEFAULT '',
    target       text NOT NULL, -- an e-mail address or an http(s) URL
    secret       text,          -- webhook: HMAC-SHA256 key of the X-TDS-Signature header
    severities   text[] NOT NULL DEFAULT '{critical,major,minor,warning}',
    language     text NOT NULL DEFAULT 'pt-BR' CHECK (language IN ('pt-BR', 'en')),
    on_ack       boolean NOT NULL DEFAULT false, -- also notify acknowledgements
    enabled      boolean NOT NULL DEFAULT true,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (type <> 'webhook' OR secret IS NOT NULL)
);
CREATE INDEX notification_channels_account_idx ON notification_channels (account_id);

-- Written in the transaction of the alarm change; the sender job delivers and marks sent_at once the
-- SMTP server or the webhook accepted it. event_key makes "one notification per state change" a
-- constraint: 'raised', 'cleared', 'acknowledged', 'renotify:N', 'test:<uuid>'.
CREATE TABLE notification_outbox (
    id               bigserial PRIMARY KEY,
    alarm_id         bigint REFERENCES alarms(id) ON DELETE CASCADE, -- NULL: a channel test
    channel_id       bigint NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    event            text NOT NULL CHECK (event IN ('raised', 'cleared', 'acknowledged', 'renotify', 'test')),
    event_key        text NOT NULL,
    payload          jsonb NOT NULL, -- the alarm as it was at the change (rendered per channel language at send)
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    failed_at        timestamptz, -- gave up after the last attempt
    last_error       text
);
CREATE UNIQUE INDEX notification_outbox_once_idx ON notification_outbox (channel_id, alarm_id, event_key);
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE sent_at IS NULL
    AND failed_at IS NULL;

-- Every attempt, for the delivery log: what the server or the receiver answered.
CREATE TABLE notification_deliveries (
    id          bigserial PRIMARY KEY,
    outbox_id   bigint NOT NULL REFERENCES notification_outbox(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    ok          boolean NOT NULL,
    detail      text NOT NULL DEFAULT '' -- '250 OK', 'HTTP 204', or the error
);
CREATE INDEX notification_deliveries_outbox_idx ON notification_deliveries (outbox_id, at DESC);
