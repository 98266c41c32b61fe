-- 001_core: the fleet (accounts, gateways, devices), the metric catalogue and raw readings.
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'), -- the {account} part of MQTT topics
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gateways (
    id                    bigserial PRIMARY KEY,
    account_id            bigint NOT NULL REFERENCES accounts(id),
    serial                text NOT NULL UNIQUE CHECK (serial ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$'), -- the {gateway} part of topics
    name                  text NOT NULL,
    location              text NOT NULL DEFAULT '',
    active                boolean NOT NULL DEFAULT true,
    inactivity_timeout_s  integer NOT NULL DEFAULT 300 CHECK (inactivity_timeout_s BETWEEN 10 AND 86400),
    last_seen_at          timestamptz,          -- time the last accepted message was received
    last_seq              bigint,               -- last sequence number the gateway sent, for gap detection
    seq_gaps              bigint NOT NULL DEFAULT 0, -- messages missing according to sequence numbers
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateways_account_idx ON gateways (account_id);

-- Known metric names with their unit and meter kind; unknown names are added as gauges on first sight.
CREATE TABLE metrics (
    id          smallserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    unit        text NOT NULL DEFAULT '',
    meter_kind  text NOT NULL DEFAULT 'gauge' CHECK (meter_kind IN ('counter', 'delta', 'gauge')),
    known       boolean NOT NULL DEFAULT false -- false: learned from traffic, unit unknown
);
INSERT INTO metrics (name, unit, meter_kind, known) VALUES
    ('energy_kwh', 'kWh', 'counter', true),
    ('water_m3', 'm³', 'counter', true),
    ('gas_m3', 'm³', 'counter', true),
    ('energy_delta_kwh', 'kWh', 'delta', true),
    ('power_kw', 'kW', 'gauge', true),
    ('voltage_v', 'V', 'gauge', true),
    ('current_a', 'A', 'gauge', true),
    ('temperature_c', '°C', 'gauge', true),
    ('humidity_pct', '%', 'gauge', true),
    ('flow_lpm', 'L/min', 'gauge', true);

CREATE TABLE devices (
    id          bigserial PRIMARY KEY,
    gateway_id  bigint NOT NULL REFERENCES gateways(id),
    account_id  bigint NOT NULL REFERENCES accounts(id), -- copied from the gateway so reads scope by account without a join
    code        text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'meter',
    active      boolean NOT NULL DEFAULT true,
    provisioned text NOT NULL DEFAULT 'manual' CHECK (provisioned IN ('manual', 'auto')), -- 'auto': created by a reading
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway_id, code)
);
CREATE INDEX devices_account_idx ON devices (account_id);

-- One row per (device, metric, instant): a redelivered or repeated reading is the same row.
CREATE TABLE readings (
    device_id    bigint NOT NULL,
    metric_id    smallint NOT NULL,
    ts           timestamptz NOT NULL,
    value        double precision NOT NULL,
    consumption  double precision,  -- counter: increase since the previous reading; delta: the value; gauge: NULL
    account_id   bigint NOT NULL,
    gateway_id   bigint NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, metric_id, ts)
);
-- The seed's access path: an account's latest readings.
CREATE INDEX readings_account_ts_idx ON readings (account_id, ts DESC);

CREATE TABLE rejected_messages (
    id                 bigserial PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    topic              text NOT NULL,
    reason             text NOT NULL,  -- machine-readable code, see docs/mqtt.md
    detail             text NOT NULL DEFAULT '',
    account_slug       text,
    gateway_serial     text,
    readings_rejected  integer NOT NULL DEFAULT 0,
    readings_accepted  integer NOT NULL DEFAULT 0, -- > 0: only some readings of the message were refused
    payload_size       integer NOT NULL,
    payload_excerpt    bytea NOT NULL  -- first 4 KiB of the raw payload
);
CREATE INDEX rejected_messages_received_idx ON rejected_messages (received_at DESC);
