-- Rollups on TimescaleDB, re-applied after every migration run (idempotent) and only where the
-- timescaledb extension is installed. tds_dash/migrate.py runs this file right after
-- sql/functions/*.sql, in the same transaction, so the functions below replace the plain-PostgreSQL
-- versions of the same name and no session ever sees those in between.
--
-- consumption_hourly / _daily / _monthly are continuous aggregates with the names and columns of the
-- tables in sql/002 (so every query and chart works unchanged): hourly from the readings hypertable,
-- daily and monthly hierarchical on top of it, days and months cut in the rollup zone, real-time
-- aggregation on (materialized_only = false), refreshed by policies. The writer keeps computing
-- readings.consumption in the batch's transaction; the aggregates only sum it.

-- True when the zone's offset from UTC is a whole number of hours at every instant in 1970..2100
-- (Sao Paulo, New York, Lisbon; not Kolkata or St John's).
CREATE OR REPLACE FUNCTION tds_zone_has_whole_hour_offsets(p_tz text) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
    SELECT bool_and(extract(epoch FROM (t AT TIME ZONE p_tz) - (t AT TIME ZONE 'UTC'))::bigint % 3600 = 0)
    FROM generate_series(timestamptz '1970-01-01 00:00Z', timestamptz '2100-01-01 00:00Z', interval '1 month') AS t;
$fn$;

-- The retention policy's drop_after on readings, NULL without one.
CREATE OR REPLACE FUNCTION tds_retention_drop_after() RETURNS interval LANGUAGE sql STABLE AS $fn$
    SELECT (config ->> 'drop_after')::interval FROM timescaledb_information.jobs
    WHERE proc_name = 'policy_retention' AND hypertable_name = 'readings' LIMIT 1;
$fn$;

-- Refresh policy of one rollup level (replaced if present). Buckets newer than end_offset come from
-- real-time aggregation. start_offset NULL: a refresh covers all time but recomputes only what changed
-- (new buckets and the invalidation log), so a backlog uploaded days late is materialized too.
CREATE OR REPLACE FUNCTION tds_put_refresh_policy(p_view text, p_start interval) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM remove_continuous_aggregate_policy(p_view, if_exists => true);
    PERFORM add_continuous_aggregate_policy(p_view, start_offset => p_start, end_offset => interval '1 hour',
        schedule_interval => CASE WHEN p_view LIKE '%\_hourly' THEN interval '5 minutes'
                                  WHEN p_view LIKE '%\_daily' THEN interval '15 minutes'
                                  ELSE interval '1 hour' END);
END
$fn$;

-- (Re)creates the three continuous aggregates cut in p_tz, empty (WITH NO DATA: allowed inside a
-- transaction; the caller materializes them with CALL refresh_continuous_aggregate outside one).
-- Whatever held the names before (sql/002's tables or aggregates of another zone) is dropped: it is
-- all derived from readings. The zone is quoted with %L by format(), never pasted as text.
CREATE OR REPLACE FUNCTION tds_create_rollup_views(p_tz text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_name text;
    v_hour text;
    v_body constant text := $q$
        CREATE MATERIALIZED VIEW %1$I WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT device_id, metric_id, %2$s AS bucket, max(account_id) AS account_id, sum(%3$s) AS consumption,
               min(%4$s) AS min_value, max(%5$s) AS max_value, sum(%6$s) AS sum_value, %7$s AS count,
               last(%8$s, %9$s) AS last_value, max(%9$s) AS last_ts
        FROM %10$I GROUP BY device_id, metric_id, %2$s WITH NO DATA
    $q$;
BEGIN
    IF p_tz IS NULL OR NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_tz) THEN
        RAISE EXCEPTION 'unknown time zone: %', p_tz USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH v_name IN ARRAY ARRAY['consumption_monthly', 'consumption_daily', 'consumption_hourly'] LOOP
        IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                   WHERE view_schema = current_schema() AND view_name = v_name) THEN
            EXECUTE format('DROP MATERIALIZED VIEW %I', v_name);
        ELSE
            EXECUTE format('DROP TABLE IF EXISTS %I', v_name);
        END IF;
    END LOOP;
    -- time_bucket('1 hour', ts, zone) buckets in local wall-clock time: when clocks fall back it puts
    -- both 01:00 hours in one bucket that starts after the first hour's readings. Where every local
    -- hour is a UTC hour (whole-hour offsets), UTC buckets are the same local hours without that
    -- fault, equal to date_trunc('hour', ts, zone) on plain PostgreSQL; days and months above them
    -- are still cut in the zone.
    v_hour := CASE WHEN tds_zone_has_whole_hour_offsets(p_tz) THEN $q$time_bucket('1 hour', ts)$q$
                   ELSE format($q$time_bucket('1 hour', ts, %L)$q$, p_tz) END;
    EXECUTE format(v_body, 'consumption_hourly', v_hour, 'consumption', 'value', 'value', 'value',
                   'count(*)::integer', 'value', 'ts', 'readings');
    EXECUTE format(v_body, 'consumption_daily', format($q$time_bucket('1 day', bucket, %L)$q$, p_tz),
                   'consumption', 'min_value', 'max_value', 'sum_value', 'sum(count)::integer',
                   'last_value', 'last_ts', 'consumption_hourly');
    EXECUTE format(v_body, 'consumption_monthly', format($q$time_bucket('1 month', bucket, %L)$q$, p_tz),
                   'consumption', 'min_value', 'max_value', 'sum_value', 'sum(count)::integer',
                   'last_value', 'last_ts', 'consumption_daily');
    FOREACH v_name IN ARRAY ARRAY['consumption_hourly', 'consumption_daily', 'consumption_monthly'] LOOP
        -- The overview's access path, as on the plain tables (sql/002).
        EXECUTE format('CREATE INDEX %I ON %I (account_id, bucket DESC)', v_name || '_account_idx', v_name);
        -- Only the hourly level reads raw chunks, so only it must stay clear of what retention drops
        -- (see tds_timescale_policies); these new aggregates hold nothing older than the raw data yet.
        PERFORM tds_put_refresh_policy(v_name, CASE WHEN v_name = 'consumption_hourly' THEN tds_retention_drop_after() END);
    END LOOP;
    PERFORM tds_create_fleet_views(p_tz);
END
$fn$;

-- Fleet rollups (the tables of sql/080) as hierarchical continuous aggregates with the same names and
-- columns: per gateway and metric, fleet_hourly from the readings (their gateway_id: a device never
-- changes gateway, so these are its devices' hourly rows summed), fleet_daily on fleet_hourly,
-- fleet_monthly on fleet_daily, cut like consumption_* (same hour expression, same zone). Created empty
-- like tds_create_rollup_views's; whatever held the names before is dropped (all derived from readings).
CREATE OR REPLACE FUNCTION tds_create_fleet_views(p_tz text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_name text;
    v_hour text;
    v_body constant text := $q$
        CREATE MATERIALIZED VIEW %1$I WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT gateway_id, metric_id, %2$s AS bucket, max(account_id) AS account_id, sum(consumption) AS consumption,
               %3$s AS count
        FROM %4$I GROUP BY gateway_id, metric_id, %2$s WITH NO DATA
    $q$;
BEGIN
    IF p_tz IS NULL OR NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_tz) THEN
        RAISE EXCEPTION 'unknown time zone: %', p_tz USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH v_name IN ARRAY ARRAY['fleet_monthly', 'fleet_daily', 'fleet_hourly'] LOOP
        IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                   WHERE view_schema = current_schema() AND view_name = v_name) THEN
            EXECUTE format('DROP MATERIALIZED VIEW %I', v_name);
        ELSE
            EXECUTE format('DROP TABLE IF EXISTS %I', v_name);
        END IF;
    END LOOP;
    v_hour := CASE WHEN tds_zone_has_whole_hour_offsets(p_tz) THEN $q$time_bucket('1 hour', ts)$q$
                   ELSE format($q$time_bucket('1 hour', ts, %L)$q$, p_tz) END;
    EXECUTE format(v_body, 'fleet_hourly', v_hour, 'count(*)', 'readings');
    EXECUTE format(v_body, 'fleet_daily', format($q$time_bucket('1 day', bucket, %L)$q$, p_tz),
                   'sum(count)::bigint', 'fleet_hourly');
    EXECUTE format(v_body, 'fleet_monthly', format($q$time_bucket('1 month', bucket, %L)$q$, p_tz),
                   'sum(count)::bigint', 'fleet_daily');
    FOREACH v_name IN ARRAY ARRAY['fleet_hourly', 'fleet_daily', 'fleet_monthly'] LOOP
        EXECUTE format('CREATE INDEX %I ON %I (account_id, metric_id, bucket)', v_name || '_account_idx', v_name);
        -- fleet_hourly reads raw chunks: like consumption_hourly, it must stay clear of what retention drops.
        PERFORM tds_put_refresh_policy(v_name, CASE WHEN v_name = 'fleet_hourly' THEN tds_retention_drop_after() END);
    END LOOP;
END
$fn$;

-- The writer's per-batch call (same signature as on plain PostgreSQL): only per-reading consumption is
-- the writer's job here; the continuous aggregates pick the changes up (real-time, then policies).
CREATE OR REPLACE FUNCTION tds_refresh_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz[], p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    -- Two writers touching one device wait for each other, so each sees the other's readings.
    PERFORM pg_advisory_xact_lock(7301002, (d % 2147483647)::integer)
    FROM (SELECT DISTINCT d FROM unnest(p_device) AS d ORDER BY d) s;
    PERFORM 1 FROM tds_update_consumption(p_device, p_metric, p_from);
END
$fn$;

-- History built set-based (ingest/simulator/history.py): the aggregates do the rollups; only the
-- readings' consumption is made exact here, under the live merge's device locks.
CREATE OR REPLACE FUNCTION tds_build_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz,
                                             p_to timestamptz, p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(7301002, (d % 2147483647)::integer)
    FROM (SELECT DISTINCT d FROM unnest(p_device) AS d ORDER BY d) s;
    PERFORM 1 FROM tds_update_consumption(p_device, p_metric, array_fill(p_from, ARRAY[cardinality(p_device)]));
END
$fn$;

-- The zone is part of the aggregates' definitions: a new zone means new aggregates. They come back
-- empty; tds_dash.migrate.ensure_rollup_timezone() then refreshes them outside a transaction.
CREATE OR REPLACE FUNCTION tds_rebuild_rollups(p_tz text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM tds_create_rollup_views(p_tz);
    INSERT INTO rollup_settings (timezone) VALUES (p_tz)
    ON CONFLICT (singleton) DO UPDATE SET timezone = EXCLUDED.timezone;
END
$fn$;

-- Raw-chunk policies from the deployment's settings (TDS_LATE_DATA_DAYS, TDS_RETENTION_DAYS), applied
-- at every start; a policy is replaced only when its setting changed.
CREATE OR REPLACE FUNCTION tds_timescale_policies(p_late_days integer, p_retention_days integer)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_compress_after constant interval := make_interval(days => p_late_days);
    v_drop_after constant interval := make_interval(days => p_retention_days);
    v_view text;
BEGIN
    IF p_late_days IS NULL OR p_late_days < 1 THEN
        RAISE EXCEPTION 'late-data window must be at least 1 day, got %', p_late_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_retention_days IS NOT NULL AND p_retention_days <= p_late_days THEN
        RAISE EXCEPTION 'retention (% days) must be longer than the late-data window (% days)', p_retention_days, p_late_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Chunks older than the late-data window no longer take writes: compress them (segments per
    -- device and metric, the rollups' and device charts' access path).
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'
                   AND hypertable_name = 'readings' AND (config ->> 'compress_after')::interval = v_compress_after) THEN
        PERFORM remove_compression_policy('readings', if_exists => true);
        PERFORM add_compression_policy('readings', compress_after => v_compress_after);
    END IF;
    IF p_retention_days IS NULL THEN
        PERFORM remove_retention_policy('readings', if_exists => true);
        RETURN;
    END IF;
    IF tds_retention_drop_after() IS DISTINCT FROM v_drop_after THEN
        PERFORM remove_retention_policy('readings', if_exists => true);
        PERFORM add_retention_policy('readings', drop_after => v_drop_after);
    END IF;
    -- Rollups outlive the raw readings: dropping chunks leaves materialized buckets alone, but it logs
    -- their range as invalid, and a refresh reaching it would find no readings and empty those buckets.
    -- So the hourly refresh starts where retention drops (chunks older than drop_after are gone; the
    -- bucket straddling the line is not refreshed). When retention is switched off again, that start
    -- is kept: pending invalidations of dropped chunks must never be refreshed.
    FOREACH v_view IN ARRAY ARRAY['consumption_hourly', 'fleet_hourly'] LOOP  -- the levels reading raw chunks
        IF to_regclass(v_view) IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'
                AND hypertable_name = v_view
                AND (config ->> 'start_offset')::interval IS NOT DISTINCT FROM v_drop_after) THEN
            PERFORM tds_put_refresh_policy(v_view, v_drop_after);
        END IF;
    END LOOP;
END
$fn$;
