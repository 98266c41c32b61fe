-- Rollup maintenance for plain PostgreSQL, re-applied after every migration run (idempotent).
-- The ingest writer calls tds_refresh_rollups() in the same transaction as each batch insert, so
-- consumption_* never lag the raw readings.
--
-- Per-reading consumption comes from tds_update_consumption (sql/functions/consumption.sql).
-- A key is (device, metric, earliest ts inserted in this batch). Two paths:
-- * appended: every new reading is later than anything stored for the key (live streaming). The new
--   readings are aggregated on their own and merged into the buckets additively: cost ~ batch size.
-- * late: a reading landed before the key's newest one. Everything from that instant on is recomputed
--   (its successor's increase changes too), so totals do not depend on arrival order.

-- Appended path: aggregate only the readings at or after each key's instant and add them to the buckets,
-- all three device levels and all three fleet levels (sql/080) in one statement: the new readings are
-- read once and grouped by hour; days and months are grouped from those hourly partials (an hour cut in
-- p_tz lies in one local day and month), instead of scanning the readings once per level
-- (bench/RESULTS.md). A gateway's fleet rows get the same partials summed over its devices (a reading
-- carries its gateway, and a device never changes gateway), so each fleet row stays the sum of its
-- device rows without reading them again: recomputing the touched gateways' buckets from their ~10
-- device rows per level was a fifth of a live pass (bench/RESULTS.md, issue 17). The caller holds the
-- gateways' locks (tds_refresh_rollups).
CREATE OR REPLACE FUNCTION tds_merge_appended_all(p_device bigint[], p_metric smallint[], p_from timestamptz[],
                                                  p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    -- Dynamic SQL: with TimescaleDB the rollups are views and this function is never called, but a static
    -- body would be checked against them (and refused) every time the functions are re-applied.
    EXECUTE $q$
    WITH hourly AS (
        SELECT r.device_id, r.metric_id, date_trunc('hour', r.ts, $4) AS bucket, max(r.account_id) AS account_id,
               sum(r.consumption) AS consumption, min(r.value) AS min_value, max(r.value) AS max_value,
               sum(r.value) AS sum_value, count(*)::integer AS count,
               (array_agg(r.value ORDER BY r.ts DESC))[1] AS last_value, max(r.ts) AS last_ts,
               max(r.gateway_id) AS gateway_id
        FROM unnest($1, $2, $3) AS k(device_id, metric_id, from_ts)
        JOIN readings r ON r.device_id = k.device_id AND r.metric_id = k.metric_id AND r.ts >= k.from_ts
        GROUP BY 1, 2, 3
    ), daily AS (
        SELECT device_id, metric_id, date_trunc('day', bucket, $4) AS bucket, max(account_id) AS account_id,
               sum(consumption) AS consumption, min(min_value) AS min_value, max(max_value) AS max_value,
               sum(sum_value) AS sum_value, sum(count)::integer AS count,
               (array_agg(last_value ORDER BY last_ts DESC))[1] AS last_value, max(last_ts) AS last_ts
        FROM hourly GROUP BY 1, 2, 3
    ), monthly AS (
        SELECT device_id, metric_id, date_trunc('month', bucket, $4) AS bucket, max(account_id) AS account_id,
               sum(consumption) AS consumption, min(min_value) AS min_value, max(max_value) AS max_value,
               sum(sum_value) AS sum_value, sum(count)::integer AS count,
               (array_agg(last_value ORDER BY last_ts DESC))[1] AS last_value, max(last_ts) AS last_ts
        FROM daily GROUP BY 1, 2, 3
    ), fleet_hour AS (
        SELECT gateway_id, metric_id, bucket, max(account_id) AS account_id, sum(consumption) AS consumption,
               sum(count) AS count
        FROM hourly GROUP BY 1, 2, 3
    ), fleet_day AS (
        SELECT gateway_id, metric_id, date_trunc('day', bucket, $4) AS bucket, max(account_id) AS account_id,
               sum(consumption) AS consumption, sum(count) AS count
        FROM fleet_hour GROUP BY 1, 2, 3
    ), fleet_month AS (
        SELECT gateway_id, metric_id, date_trunc('month', bucket, $4) AS bucket, max(account_id) AS account_id,
               sum(consumption) AS consumption, sum(count) AS count
        FROM fleet_day GROUP BY 1, 2, 3
    ), merged_hourly AS (
        INSERT INTO consumption_hourly AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count,
               last_value, last_ts
        FROM hourly
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            min_value = least(t.min_value, EXCLUDED.min_value), max_value = greatest(t.max_value, EXCLUDED.max_value),
            sum_value = t.sum_value + EXCLUDED.sum_value, count = t.count + EXCLUDED.count,
            last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        RETURNING 1
    ), merged_daily AS (
        INSERT INTO consumption_daily AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT * FROM daily
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            min_value = least(t.min_value, EXCLUDED.min_value), max_value = greatest(t.max_value, EXCLUDED.max_value),
            sum_value = t.sum_value + EXCLUDED.sum_value, count = t.count + EXCLUDED.count,
            last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        RETURNING 1
    ), merged_monthly AS (
        INSERT INTO consumption_monthly AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT * FROM monthly
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            min_value = least(t.min_value, EXCLUDED.min_value), max_value = greatest(t.max_value, EXCLUDED.max_value),
            sum_value = t.sum_value + EXCLUDED.sum_value, count = t.count + EXCLUDED.count,
            last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        RETURNING 1
    ), merged_fleet_hourly AS (
        INSERT INTO fleet_hourly AS t (gateway_id, metric_id, bucket, account_id, consumption, count)
        SELECT * FROM fleet_hour
        ON CONFLICT (gateway_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            count = t.count + EXCLUDED.count
        RETURNING 1
    ), merged_fleet_daily AS (
        INSERT INTO fleet_daily AS t (gateway_id, metric_id, bucket, account_id, consumption, count)
        SELECT * FROM fleet_day
        ON CONFLICT (gateway_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            count = t.count + EXCLUDED.count
        RETURNING 1
    )
    INSERT INTO fleet_monthly AS t (gateway_id, metric_id, bucket, account_id, consumption, count)
    SELECT * FROM fleet_month
    ON CONFLICT (gateway_id, metric_id, bucket) DO UPDATE SET
        account_id = EXCLUDED.account_id,
        consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                           ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
        count = t.count + EXCLUDED.count
    $q$ USING p_device, p_metric, p_from, p_tz;
END
$fn$;

-- Late path: re-aggregates one level from the level below (or from readings for the hourly level),
-- for every bucket at or after each key's instant.
CREATE OR REPLACE FUNCTION tds_roll_up(p_source text, p_target text, p_unit text,
                                       p_device bigint[], p_metric smallint[], p_from timestamptz[], p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF p_source = 'readings' THEN
        EXECUTE format($q$
            INSERT INTO %1$I AS t
                (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
            SELECT r.device_id, r.metric_id, date_trunc($1, r.ts, $5), max(r.account_id), sum(r.consumption),
                   min(r.value), max(r.value), sum(r.value), count(*), (array_agg(r.value ORDER BY r.ts DESC))[1], max(r.ts)
            FROM unnest($2, $3, $4) AS k(device_id, metric_id, from_ts)
            JOIN readings r ON r.device_id = k.device_id AND r.metric_id = k.metric_id
                           AND r.ts >= date_trunc($1, k.from_ts, $5)
            GROUP BY 1, 2, 3
            ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
                account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption,
                min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,
                count = EXCLUDED.count, last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        $q$, p_target)
        USING p_unit, p_device, p_metric, p_from, p_tz;
        RETURN;
    END IF;
    EXECUTE format($q$
        INSERT INTO %2$I AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT s.device_id, s.metric_id, date_trunc($1, s.bucket, $5), max(s.account_id), sum(s.consumption),
               min(s.min_value), max(s.max_value), sum(s.sum_value), sum(s.count)::integer,
               (array_agg(s.last_value ORDER BY s.last_ts DESC))[1], max(s.last_ts)
        FROM unnest($2, $3, $4) AS k(device_id, metric_id, from_ts)
        JOIN %1$I s ON s.device_id = k.device_id AND s.metric_id = k.metric_id
                   AND s.bucket >= date_trunc($1, k.from_ts, $5)
        GROUP BY 1, 2, 3
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption,
            min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,
            count = EXCLUDED.count, last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
    $q$, p_source, p_target)
    USING p_unit, p_device, p_metric, p_from, p_tz;
END
$fn$;

-- Fleet rollups (sql/080): every bucket of a touched (gateway, metric) at or after the earliest instant
-- merged for it is recomputed from its devices' rows, level by level, so each fleet row is exactly the
-- sum of the device rows below it whatever the arrival order. Live streaming touches one bucket per
-- level: the gateway's ~10 device rows each. Gateways are locked in id order after the device locks,
-- so two writers merging devices of one gateway (TDS_ROLLUP_DEFERRED=false, several slots) recompute
-- its rows one after the other, each seeing the other's committed device rows.
CREATE OR REPLACE FUNCTION tds_refresh_fleet_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz[],
                                                     p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    keys record;
    level record;
BEGIN
    SELECT array_agg(gateway_id ORDER BY gateway_id, metric_id) AS g, array_agg(metric_id ORDER BY gateway_id, metric_id) AS m,
           array_agg(from_ts ORDER BY gateway_id, metric_id) AS f INTO keys
    FROM (SELECT d.gateway_id, u.m AS metric_id, min(u.f) AS from_ts
          FROM unnest(p_device, p_metric, p_from) AS u(d, m, f) JOIN devices d ON d.id = u.d GROUP BY 1, 2) s;
    IF keys.g IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7301003, (g % 2147483647)::integer)
    FROM (SELECT DISTINCT g FROM unnest(keys.g) AS g ORDER BY g) s;
    FOR level IN SELECT * FROM (VALUES ('hour', 'hourly'), ('day', 'daily'), ('month', 'monthly')) AS v(unit, name) LOOP
        EXECUTE format($q$
            INSERT INTO %1$I AS t (gateway_id, metric_id, bucket, account_id, consumption, count)
            SELECT k.gateway_id, c.metric_id, c.bucket, max(c.account_id), sum(c.consumption), sum(c.count)
            FROM unnest($1, $2, $3) AS k(gateway_id, metric_id, from_ts)
            JOIN devices d ON d.gateway_id = k.gateway_id
            JOIN %2$I c ON c.device_id = d.id AND c.metric_id = k.metric_id
                       AND c.bucket >= date_trunc($4, k.from_ts, $5)
            GROUP BY 1, 2, 3
            ON CONFLICT (gateway_id, metric_id, bucket) DO UPDATE SET
                account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption, count = EXCLUDED.count
        $q$, 'fleet_' || level.name, 'consumption_' || level.name)
        USING keys.g, keys.m, keys.f, level.unit, p_tz;
    END LOOP;
END
$fn$;

-- A gateway's fleet rows rebuilt from its devices' rows (after a device's readings and rollups were
-- purged: buckets only that device had must go, so this deletes and recomputes rather than upserting).
CREATE OR REPLACE FUNCTION tds_rebuild_fleet_gateway(p_gateway bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    level text;
BEGIN
    PERFORM pg_advisory_xact_lock(7301003, (p_gateway % 2147483647)::integer);
    FOREACH level IN ARRAY ARRAY['hourly', 'daily', 'monthly'] LOOP
        EXECUTE format('DELETE FROM %I WHERE gateway_id = $1', 'fleet_' || level) USING p_gateway;
        EXECUTE format(
            'INSERT INTO %I (gateway_id, metric_id, bucket, account_id, consumption, count)'
            ' SELECT d.gateway_id, c.metric_id, c.bucket, max(c.account_id), sum(c.consumption), sum(c.count)'
            ' FROM devices d JOIN %I c ON c.device_id = d.id WHERE d.gateway_id = $1 GROUP BY 1, 2, 3',
            'fleet_' || level, 'consumption_' || level) USING p_gateway;
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION tds_refresh_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz[], p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    changed record;
    keys record;
BEGIN
    -- Two writers touching one device wait for each other, so each sees the other's readings.
    PERFORM pg_advisory_xact_lock(7301002, (d % 2147483647)::integer)
    FROM (SELECT DISTINCT d FROM unnest(p_device) AS d ORDER BY d) s;

    -- Keys where a reading before the batch changed (a provisional drop resolved) are recomputed.
    SELECT array_agg(c.device_id) AS d, array_agg(c.metric_id) AS m, array_agg(c.changed_from) AS f INTO changed
    FROM tds_update_consumption(p_device, p_metric, p_from) c;

    -- Rollups are current up to this batch, so the newest hourly bucket's last_ts is the key's newest
    -- reading before it: a key whose new readings are all later is "appended".
    SELECT array_agg(device_id) FILTER (WHERE is_append) AS ad, array_agg(metric_id) FILTER (WHERE is_append) AS am,
           array_agg(from_ts) FILTER (WHERE is_append) AS af,
           array_agg(device_id) FILTER (WHERE NOT is_append) AS ld, array_agg(metric_id) FILTER (WHERE NOT is_append) AS lm,
           array_agg(from_ts) FILTER (WHERE NOT is_append) AS lf
    INTO keys
    FROM (
        SELECT k.device_id, k.metric_id, least(k.from_ts, c.changed_from) AS from_ts,
               c.device_id IS NULL AND coalesce(
                   k.from_ts > (SELECT h.last_ts FROM consumption_hourly h
                                 WHERE h.device_id = k.device_id AND h.metric_id = k.metric_id
                                 ORDER BY h.bucket DESC LIMIT 1), true) AS is_append
        FROM unnest(p_device, p_metric, p_from) AS k(device_id, metric_id, from_ts)
        LEFT JOIN unnest(changed.d, changed.m, changed.f) AS c(device_id, metric_id, changed_from)
               ON c.device_id = k.device_id AND c.metric_id = k.metric_id
    ) classified;

    -- The appended merge adds to the gateways' fleet rows: their locks first (id order, after the
    -- device locks, as tds_refresh_fleet_rollups takes them), so a concurrent recompute of the same
    -- gateway (a late key, a history window) runs wholly before or after this delta.
    PERFORM pg_advisory_xact_lock(7301003, (g % 2147483647)::integer)
    FROM (SELECT DISTINCT d.gateway_id AS g FROM devices d WHERE d.id = ANY (p_device) ORDER BY 1) s;
    IF keys.ad IS NOT NULL THEN
        PERFORM tds_merge_appended_all(keys.ad, keys.am, keys.af, p_tz);
    END IF;
    -- Late keys: their device buckets from the late instant on are recomputed, then their gateways'
    -- buckets from every device row (this pass's appended deltas included), replacing those rows whole.
    IF keys.ld IS NOT NULL THEN
        PERFORM tds_roll_up('readings', 'consumption_hourly', 'hour', keys.ld, keys.lm, keys.lf, p_tz);
        PERFORM tds_roll_up('consumption_hourly', 'consumption_daily', 'day', keys.ld, keys.lm, keys.lf, p_tz);
        PERFORM tds_roll_up('consumption_daily', 'consumption_monthly', 'month', keys.ld, keys.lm, keys.lf, p_tz);
        PERFORM tds_refresh_fleet_rollups(keys.ld, keys.lm, keys.lf, p_tz);
    END IF;
END
$fn$;

-- Rebuilds every rollup from the raw readings, e.g. after TDS_TIMEZONE changed.
CREATE OR REPLACE FUNCTION tds_rebuild_rollups(p_tz text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    keys record;
BEGIN
    PERFORM now() AT TIME ZONE p_tz;  -- an unknown zone fails here, before anything is dropped
    TRUNCATE consumption_hourly, consumption_daily, consumption_monthly, fleet_hourly, fleet_daily, fleet_monthly;
    SELECT array_agg(device_id) AS d, array_agg(metric_id) AS m, array_agg(first_ts) AS f INTO keys
    FROM (SELECT device_id, metric_id, min(ts) AS first_ts FROM readings GROUP BY 1, 2) s;
    IF keys.d IS NOT NULL THEN
        PERFORM tds_refresh_rollups(keys.d, keys.m, keys.f, p_tz);
    END IF;
    INSERT INTO rollup_settings (timezone) VALUES (p_tz)
    ON CONFLICT (singleton) DO UPDATE SET timezone = EXCLUDED.timezone;
END
$fn$;

-- Bulk build for history written set-based (ingest/simulator/history.py): the given keys' readings from
-- p_from (a local month start) to p_to (the next window's start; NULL: no end, the live readings after
-- the history included) are made exact first (counter consumption, tds_update_consumption: a no-op scan
-- where the writer already filled it in, the exact rules wherever a value drops or a mark exists), then
-- every hourly/daily/monthly bucket in that span is recomputed from the readings and replaced, and the
-- fleet rows of their gateways after them. Idempotent (a redone load rebuilds the same rows), exact
-- beside the live writer: the open window takes the live merge's device locks, every window its
-- gateway locks (tds_refresh_fleet_rollups).
-- One statement for the three levels as in tds_merge_appended_all: the readings are read once.
CREATE OR REPLACE FUNCTION tds_build_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz,
                                             p_to timestamptz, p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_changed timestamptz;
    v_from timestamptz;
    v_starts timestamptz[];
BEGIN
    -- Only the open window takes the device locks: a window with an end rebuilds buckets before the live
    -- readings, which no live merge touches, so the live rollups (the overview's "live data") do not wait
    -- for a month's build; the seam is rebuilt by the open window, after every earlier one, under them.
    IF p_to IS NULL THEN
        PERFORM pg_advisory_xact_lock(7301002, (d % 2147483647)::integer)
        FROM (SELECT DISTINCT d FROM unnest(p_device) AS d ORDER BY d) s;
    END IF;
    v_starts := array_fill(p_from, ARRAY[cardinality(p_device)]);
    -- A reading before p_from whose consumption changed (a drop resolved by the first reading here):
    -- its buckets are rebuilt too.
    SELECT min(c.changed_from) INTO v_changed FROM tds_update_consumption(p_device, p_metric, v_starts) c;
    v_from := date_trunc('month', least(p_from, coalesce(v_changed, p_from)), p_tz);
    EXECUTE $q$
    WITH hourly AS (
        INSERT INTO consumption_hourly AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT r.device_id, r.metric_id, date_trunc('hour', r.ts, $5), max(r.account_id), sum(r.consumption),
               min(r.value), max(r.value), sum(r.value), count(*)::integer, (array_agg(r.value ORDER BY r.ts DESC))[1],
               max(r.ts)
        FROM unnest($1, $2) AS k(device_id, metric_id)
        JOIN readings r ON r.device_id = k.device_id AND r.metric_id = k.metric_id
                       AND r.ts >= $3 AND r.ts < coalesce($4, 'infinity'::timestamptz)
        GROUP BY 1, 2, 3
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption,
            min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,
            count = EXCLUDED.count, last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        RETURNING t.*
    ), daily AS (
        INSERT INTO consumption_daily AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT device_id, metric_id, date_trunc('day', bucket, $5), max(account_id), sum(consumption),
               min(min_value), max(max_value), sum(sum_value), sum(count)::integer,
               (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts)
        FROM hourly GROUP BY 1, 2, 3
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption,
            min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,
            count = EXCLUDED.count, last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
        RETURNING t.*
    )
    INSERT INTO consumption_monthly AS t
        (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
    SELECT device_id, metric_id, date_trunc('month', bucket, $5), max(account_id), sum(consumption),
           min(min_value), max(max_value), sum(sum_value), sum(count)::integer,
           (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts)
    FROM daily GROUP BY 1, 2, 3
    ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
        account_id = EXCLUDED.account_id, consumption = EXCLUDED.consumption,
        min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,
        count = EXCLUDED.count, last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
    $q$ USING p_device, p_metric, v_from, p_to, p_tz;
    -- Fleet rows from v_from on (the later windows have no device rows yet but the live ones).
    PERFORM tds_refresh_fleet_rollups(p_device, p_metric, array_fill(v_from, ARRAY[cardinality(p_device)]), p_tz);
END
$fn$;
