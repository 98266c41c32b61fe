-- 002_rollups: hourly/daily/monthly consumption per device and metric, cut in the deployment's zone.
-- On plain PostgreSQL these are tables the ingest writer keeps current (see sql/functions/rollups.sql);
-- on TimescaleDB, a later migration may replace them with continuous aggregates of the same shape.

CREATE TABLE rollup_settings (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    timezone   text NOT NULL -- zone the buckets below were cut in; a change triggers a rebuild
);

CREATE TABLE consumption_hourly (
    device_id    bigint NOT NULL,
    metric_id    smallint NOT NULL,
    bucket       timestamptz NOT NULL, -- start of the local hour
    account_id   bigint NOT NULL,
    consumption  double precision,     -- NULL for gauges
    min_value    double precision NOT NULL,
    max_value    double precision NOT NULL,
    sum_value    double precision NOT NULL, -- with count: the average, additive across buckets
    count        integer NOT NULL,
    last_value   double precision NOT NULL,
    last_ts      timestamptz NOT NULL,
    PRIMARY KEY (device_id, metric_id, bucket)
);
CREATE INDEX consumption_hourly_account_idx ON consumption_hourly (account_id, bucket DESC);

CREATE TABLE consumption_daily (LIKE consumption_hourly INCLUDING ALL);
CREATE TABLE consumption_monthly (LIKE consumption_hourly INCLUDING ALL);
