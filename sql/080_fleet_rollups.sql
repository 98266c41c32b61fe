-- 080_fleet_rollups: per gateway and metric, hourly/daily/monthly totals of the device rollups (issue 16),
-- so a question about a whole gateway, account or fleet reads one row per gateway and bucket instead of
-- one per device: 13 months of a 2,000-meter fleet is 2,600 rows, not 26,000. An account's total is the
-- sum of its gateways' rows (a device never changes gateway, and a gateway never changes account).
-- On plain PostgreSQL the rollup pass that merges the device rollups recomputes the touched gateways'
-- buckets from them in the same transaction (tds_refresh_fleet_rollups, sql/functions/rollups.sql), so
-- each row is exactly the sum of its devices' rows. On TimescaleDB sql/timescale/081 replaces these
-- tables with hierarchical continuous aggregates of the same names and columns.
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE fleet_hourly (
    gateway_id   bigint NOT NULL,
    metric_id    smallint NOT NULL,
    bucket       timestamptz NOT NULL, -- same buckets as consumption_hourly
    account_id   bigint NOT NULL,      -- the gateway's account: scoped reads filter on it
    consumption  double precision,     -- sum of the devices' consumption; NULL for gauges
    count        bigint NOT NULL,      -- readings, all devices
    PRIMARY KEY (gateway_id, metric_id, bucket)
) WITH (fillfactor = 70);  -- the current bucket is rewritten by every pass (HOT updates)
-- Whole-account and whole-fleet reads: the scope's accounts, one metric, a bucket range.
CREATE INDEX fleet_hourly_account_idx ON fleet_hourly (account_id, metric_id, bucket) INCLUDE (consumption, count);

CREATE TABLE fleet_daily (LIKE fleet_hourly INCLUDING ALL) WITH (fillfactor = 70);
CREATE TABLE fleet_monthly (LIKE fleet_hourly INCLUDING ALL) WITH (fillfactor = 70);

-- A database with history: build every level from the device rollups once (skipped on TimescaleDB,
-- where consumption_* are already continuous aggregates and sql/timescale/081 builds its own).
DO $$
DECLARE
    level text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('consumption_hourly') AND relkind = 'r') THEN
        FOREACH level IN ARRAY ARRAY['hourly', 'daily', 'monthly'] LOOP
            EXECUTE format(
                'INSERT INTO %I (gateway_id, metric_id, bucket, account_id, consumption, count)'
                ' SELECT d.gateway_id, c.metric_id, c.bucket, max(c.account_id), sum(c.consumption), sum(c.count)'
                ' FROM %I c JOIN devices d ON d.id = c.device_id GROUP BY 1, 2, 3',
                'fleet_' || level, 'consumption_' || level);
        END LOOP;
    END IF;
END
$$;
ANALYZE fleet_hourly, fleet_daily, fleet_monthly;
