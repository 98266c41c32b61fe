-- 061_notification_recipients: people as recipients of alarm notifications (issue 13), beside the accounts'
-- channels. Each user says where their e-mails go and in which language, and per account which severities
-- reach them, at once or in an hourly digest (minor and warning only: critical and major never wait); an
-- account names default recipients, who get its alarms until they choose otherwise. The outbox gains rows
-- addressed to a user instead of a channel (and, in 069, a 'digest' event). Who may read an account is checked when
-- a notification is queued, when a digest is built and again when it is sent (tds_dash/alarms/recipients.py).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE user_notification_settings (
    user_id     bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email       text,  -- where this user's alarm e-mails go; NULL: none (choices are kept)
    language    text NOT NULL DEFAULT 'pt-BR' CHECK (language IN ('pt-BR', 'en')),
    on_ack      boolean NOT NULL DEFAULT false, -- also acknowledgements
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A user's own choice for one account; without a row the account's default applies (all severities, at
-- once, if the user is a default recipient; nothing otherwise).
CREATE TABLE user_notification_choices (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    severities  text[] NOT NULL DEFAULT '{}' CHECK (severities <@ ARRAY['critical', 'major', 'minor', 'warning']),
                -- empty: opted out of this account
    digest      boolean NOT NULL DEFAULT false, -- minor and warning go in the hourly digest
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX user_notification_choices_account_idx ON user_notification_choices (account_id);

CREATE TABLE account_notification_recipients (
    account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, user_id)
);

ALTER TABLE notification_outbox ALTER COLUMN channel_id DROP NOT NULL;
ALTER TABLE notification_outbox ADD COLUMN user_id bigint REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_recipient_check
    CHECK ((channel_id IS NULL) <> (user_id IS NULL));
-- The 'digest' event is allowed by 069_outbox_digest_event.sql: 066 (statements) re-creates the event check
-- after this file runs, so the list naming both must come after it.
-- One notification per user and state change, and one digest per user and hour ('digest:<hour>').
CREATE UNIQUE INDEX notification_outbox_user_once_idx ON notification_outbox (user_id, coalesce(alarm_id, 0), event_key)
    WHERE user_id IS NOT NULL;

-- Changes waiting for a user's next digest; outbox_id is set in the transaction that queues the digest.
CREATE TABLE notification_digest_items (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alarm_id    bigint NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, -- checked again when the digest is built
    event_key   text NOT NULL,
    payload     jsonb NOT NULL, -- the alarm as it was at the change (like the outbox's)
    created_at  timestamptz NOT NULL,
    outbox_id   bigint REFERENCES notification_outbox(id) ON DELETE CASCADE, -- NULL: not in a digest yet
    UNIQUE (user_id, alarm_id, event_key)
);
CREATE INDEX notification_digest_items_pending_idx ON notification_digest_items (user_id, created_at)
    WHERE outbox_id IS NULL;
