-- 010_fleet_presence: fleet management (optimistic versions, auto-provisioning switch, 'new' devices)
-- and presence (gateway online/offline state, its intervals, and the events people read).
-- Frozen once applied: change the schema with a new numbered file.

-- Off: readings of unknown device codes are rejected (unknown_device) instead of creating devices.
ALTER TABLE accounts ADD COLUMN auto_provision boolean NOT NULL DEFAULT true;

-- version: optimistic concurrency for the edit forms (a save names the version it was based on).
ALTER TABLE gateways
    ADD COLUMN version       integer NOT NULL DEFAULT 1,
    ADD COLUMN status        text CHECK (status IN ('online', 'offline')), -- NULL: never seen
    ADD COLUMN status_since  timestamptz,
    ADD COLUMN status_reason text CHECK (status_reason IN ('message', 'birth', 'will', 'silent')),
    ADD COLUMN will_at       timestamptz,  -- last Last Will ('offline' on the status topic) received
    ADD COLUMN birth_at      timestamptz;  -- last live birth ('online' on the status topic) received

ALTER TABLE devices
    ADD COLUMN version      integer NOT NULL DEFAULT 1,
    ADD COLUMN reviewed_at  timestamptz,  -- auto-provisioned and never reviewed by a person: shown as 'new'
    ADD COLUMN silent_since timestamptz;  -- set while the meter is silent for 3x its usual interval

-- Exact online/offline intervals per gateway, for durations and uptime. The partial unique index
-- allows one open interval per gateway, so two processes can never both open one.
CREATE TABLE gateway_presence (
    id          bigserial PRIMARY KEY,
    gateway_id  bigint NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('online', 'offline')),
    reason      text NOT NULL CHECK (reason IN ('message', 'birth', 'will', 'silent')),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz, -- NULL: the current state
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX gateway_presence_open_idx ON gateway_presence (gateway_id) WHERE ended_at IS NULL;
CREATE INDEX gateway_presence_gateway_idx ON gateway_presence (gateway_id, started_at DESC);

-- What people read on the events page: transitions (debounced when flapping) and rejected bursts.
CREATE TABLE fleet_events (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('gateway_online', 'gateway_offline', 'gateway_flapping',
                                                  'device_silent', 'device_back', 'rejected_burst')),
    reason          text CHECK (reason IN ('message', 'birth', 'will', 'silent', 'device_silent', 'readings',
                                           'rejected')),
    account_id      bigint REFERENCES accounts(id) ON DELETE CASCADE, -- NULL: traffic of an unknown account
    gateway_id      bigint REFERENCES gateways(id) ON DELETE CASCADE,
    gateway_serial  text,            -- kept for bursts from gateways nobody registered
    device_id       bigint REFERENCES devices(id) ON DELETE CASCADE,
    at              timestamptz NOT NULL, -- when it happened (a silent gateway: last message + timeout)
    last_at         timestamptz NOT NULL, -- flapping and bursts: the latest occurrence merged in
    count           integer NOT NULL DEFAULT 1 CHECK (count >= 1), -- occurrences merged into this row
    state           text CHECK (state IN ('online', 'offline')), -- flapping: the state after last_at
    evidence_at     timestamptz,     -- the last message/reading before a silence
    interval_s      double precision, -- device silence: the usual interval it was measured against
    detail          text NOT NULL DEFAULT '',
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fleet_events_at_idx ON fleet_events (at DESC);
CREATE INDEX fleet_events_account_idx ON fleet_events (account_id, at DESC);
CREATE INDEX fleet_events_gateway_idx ON fleet_events (gateway_id, at DESC);
CREATE INDEX fleet_events_serial_idx ON fleet_events (gateway_serial, last_at DESC);

-- The rejected-messages list of one gateway and its 'register this gateway' suggestions.
CREATE INDEX rejected_messages_serial_idx ON rejected_messages (gateway_serial, received_at DESC);
