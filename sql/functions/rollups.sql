-- Rollup maintenance for plain PostgreSQL, re-applied after every migration run (idempotent).
-- The ingest writer calls tds_refresh_rollups() in the same transaction as each batch insert, so
-- consumption_* never lag the raw readings.
--
-- A key is (device, metric, earliest ts inserted in this batch). Two paths:
-- * appended: every new reading is later than anything stored for the key (live streaming). The new
--   readings are aggregated on their own and merged into the buckets additively: cost ~ batch size.
-- * late: a reading landed before the key's newest one. Everything from that instant on is recomputed
--   (its successor's increase changes too), so totals do not depend on arrival order.

-- Per-reading consumption from p_from on. A counter's increase is counted at the later reading; a
-- drop counts nothing (never a negative bar) and the new level is the base for what follows.
CREATE OR REPLACE FUNCTION tds_update_consumption(p_device bigint[], p_metric smallint[], p_from timestamptz[])
RETURNS void LANGUAGE sql AS $fn$
    UPDATE readings r SET consumption = c.consumption
    FROM (
        SELECT w.device_id, w.metric_id, w.ts,
               CASE WHEN m.meter_kind = 'delta' THEN w.value
                    WHEN w.prev_value IS NULL THEN 0
                    ELSE greatest(w.value - w.prev_value, 0) END AS consumption
        FROM unnest(p_device, p_metric, p_from) AS k(device_id, metric_id, from_ts)
        JOIN metrics m ON m.id = k.metric_id AND m.meter_kind <> 'gauge'
        CROSS JOIN LATERAL (
            SELECT x.device_id, x.metric_id, x.ts, x.value,
                   coalesce(lag(x.value) OVER (ORDER BY x.ts),
                            (SELECT p.value FROM readings p
                              WHERE p.device_id = k.device_id AND p.metric_id = k.metric_id AND p.ts < k.from_ts
                              ORDER BY p.ts DESC LIMIT 1)) AS prev_value
            FROM readings x
            WHERE x.device_id = k.device_id AND x.metric_id = k.metric_id AND x.ts >= k.from_ts
        ) w
    ) c
    WHERE r.device_id = c.device_id AND r.metric_id = c.metric_id AND r.ts = c.ts
      AND r.consumption IS DISTINCT FROM c.consumption;
$fn$;

-- Appended path: aggregate only the readings at or after each key's instant, add them to the buckets.
-- Table names and units come from the fixed calls in tds_refresh_rollups only, never from input.
CREATE OR REPLACE FUNCTION tds_merge_appended(p_target text, p_unit text, p_device bigint[], p_metric smallint[],
                                              p_from timestamptz[], p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format($q$
        INSERT INTO %1$I AS t
            (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count, last_value, last_ts)
        SELECT r.device_id, r.metric_id, date_trunc($1, r.ts, $5), max(r.account_id), sum(r.consumption),
               min(r.value), max(r.value), sum(r.value), count(*), (array_agg(r.value ORDER BY r.ts DESC))[1], max(r.ts)
        FROM unnest($2, $3, $4) AS k(device_id, metric_id, from_ts)
        JOIN readings r ON r.device_id = k.device_id AND r.metric_id = k.metric_id AND r.ts >= k.from_ts
        GROUP BY 1, 2, 3
        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
            account_id = EXCLUDED.account_id,
            consumption = CASE WHEN t.consumption IS NULL AND EXCLUDED.consumption IS NULL THEN NULL
                               ELSE coalesce(t.consumption, 0) + coalesce(EXCLUDED.consumption, 0) END,
            min_value = least(t.min_value, EXCLUDED.min_value), max_value = greatest(t.max_value, EXCLUDED.max_value),
            sum_value = t.sum_value + EXCLUDED.sum_value, count = t.count + EXCLUDED.count,
            last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts
    $q$, p_target)
    USING p_unit, p_device, p_metric, p_from, p_tz;
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

CREATE OR REPLACE FUNCTION tds_refresh_rollups(p_device bigint[], p_metric smallint[], p_from timestamptz[], p_tz text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    appended record;
BEGIN
    -- Two writers touching one device wait for each other, so each sees the other's readings.
    PERFORM pg_advisory_xact_lock(7301002, (d % 2147483647)::integer)
    FROM (SELECT DISTINCT d FROM unnest(p_device) AS d ORDER BY d) s;

    -- Classify before anything changes: rollups are current, so the newest bucket's last_ts is the
    -- key's newest reading before this batch.
    SELECT array_agg(device_id) FILTER (WHERE is_append) AS ad, array_agg(metric_id) FILTER (WHERE is_append) AS am,
           array_agg(from_ts) FILTER (WHERE is_append) AS af,
           array_agg(device_id) FILTER (WHERE NOT is_append) AS ld, array_agg(metric_id) FILTER (WHERE NOT is_append) AS lm,
           array_agg(from_ts) FILTER (WHERE NOT is_append) AS lf
    INTO appended
    FROM (
        SELECT k.device_id, k.metric_id, k.from_ts,
               coalesce(k.from_ts > (SELECT h.last_ts FROM consumption_hourly h
                                      WHERE h.device_id = k.device_id AND h.metric_id = k.metric_id
                                      ORDER BY h.bucket DESC LIMIT 1), true) AS is_append
        FROM unnest(p_device, p_metric, p_from) AS k(device_id, metric_id, from_ts)
    ) keys;

    PERFORM tds_update_consumption(p_device, p_metric, p_from);

    IF appended.ad IS NOT NULL THEN
        PERFORM tds_merge_appended('consumption_hourly', 'hour', appended.ad, appended.am, appended.af, p_tz);
        PERFORM tds_merge_appended('consumption_daily', 'day', appended.ad, appended.am, appended.af, p_tz);
        PERFORM tds_merge_appended('consumption_monthly', 'month', appended.ad, appended.am, appended.af, p_tz);
    END IF;
    IF appended.ld IS NOT NULL THEN
        PERFORM tds_roll_up('readings', 'consumption_hourly', 'hour', appended.ld, appended.lm, appended.lf, p_tz);
        PERFORM tds_roll_up('consumption_hourly', 'consumption_daily', 'day', appended.ld, appended.lm, appended.lf, p_tz);
        PERFORM tds_roll_up('consumption_daily', 'consumption_monthly', 'month', appended.ld, appended.lm, appended.lf, p_tz);
    END IF;
END
$fn$;

-- Rebuilds every rollup from the raw readings, e.g. after TDS_TIMEZONE changed.
CREATE OR REPLACE FUNCTION tds_rebuild_rollups(p_tz text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    keys record;
BEGIN
    TRUNCATE consumption_hourly, consumption_daily, consumption_monthly;
    SELECT array_agg(device_id) AS d, array_agg(metric_id) AS m, array_agg(first_ts) AS f INTO keys
    FROM (SELECT device_id, metric_id, min(ts) AS first_ts FROM readings GROUP BY 1, 2) s;
    IF keys.d IS NOT NULL THEN
        PERFORM tds_refresh_rollups(keys.d, keys.m, keys.f, p_tz);
    END IF;
    INSERT INTO rollup_settings (timezone) VALUES (p_tz)
    ON CONFLICT (singleton) DO UPDATE SET timezone = EXCLUDED.timezone;
END
$fn$;
