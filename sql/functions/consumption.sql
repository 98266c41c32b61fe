-- Per-reading consumption and counter corrections, shared by plain PostgreSQL and TimescaleDB
-- (re-applied at every start; idempotent). Rollups only ever sum readings.consumption.
--
-- Rules (docs: README "Consumption"):
-- * delta: the reading's value is its own interval's consumption.
-- * gauge: no consumption (NULL).
-- * counter: the increase since the previous valid reading, counted at the later reading. A drop is
--   - a glitch when the next reading is back at or above the level before the drop: ignored (0), and
--     the next reading counts from the level before the drop;
--   - a rollover when the device has a rollover value: rollover - previous + new;
--   - otherwise a reset (meter replaced/restarted): the reading counts from zero (its own value);
--   - provisional while its successor has not arrived: counted as 0 until it does.
--   The first reading of a counter has no base and counts 0.
-- Glitches cannot be consecutive (a glitch needs its successor back above the prior level), so one
-- reading of look-back is enough to re-evaluate what a newly arrived reading changes.

CREATE OR REPLACE FUNCTION tds_update_consumption(p_device bigint[], p_metric smallint[], p_from timestamptz[])
RETURNS TABLE (device_id bigint, metric_id smallint, changed_from timestamptz)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    k record;
    r record;
    v_kind text;
    v_rollover double precision;
    v_start timestamptz;
    v_prev double precision;
    v_consumption double precision;
    v_quality text;
    v_changed_from timestamptz;
    v_ts timestamptz[];
    v_consumptions double precision[];
    v_qualities text[];
    v_prevs double precision[];
    v_fast record;
BEGIN
    -- Fast path, set-based (live streaming: most keys of every batch): a counter key whose readings from
    -- one before the batch onward never go down and carry no quality mark. The loop below would give each
    -- its increase over the previous one (the first reading of a key: 0) and change nothing else, so that
    -- is written directly; every other key (drops, marks, deltas) takes the loop. ~10x less time per key.
    WITH keys AS (
        SELECT DISTINCT ON (u.d, u.m) u.d, u.m, u.f FROM unnest(p_device, p_metric, p_from) AS u(d, m, f)
        JOIN metrics km ON km.id = u.m
        LEFT JOIN device_metrics kd ON kd.device_id = u.d AND kd.metric_id = u.m
        WHERE coalesce(kd.meter_kind, km.meter_kind) = 'counter'
        ORDER BY u.d, u.m, u.f
    ), seq AS (
        SELECT k.d, k.m, x.ts, x.value, x.consumption, x.quality, p.quality AS prev_quality,
               coalesce(lag(x.value) OVER (PARTITION BY k.d, k.m ORDER BY x.ts), p.value) AS base
        FROM keys k
        LEFT JOIN LATERAL (SELECT y.value, y.quality FROM readings y
                           WHERE y.device_id = k.d AND y.metric_id = k.m AND y.ts < k.f
                           ORDER BY y.ts DESC LIMIT 1) p ON true
        JOIN readings x ON x.device_id = k.d AND x.metric_id = k.m AND x.ts >= k.f
    ), eligible AS (
        SELECT s.d, s.m FROM seq s GROUP BY s.d, s.m
        HAVING bool_and(s.quality IS NULL AND s.prev_quality IS NULL AND (s.base IS NULL OR s.value >= s.base))
    ), updated AS (
        UPDATE readings x SET consumption = coalesce(s.value - s.base, 0)
        FROM seq s JOIN eligible e ON e.d = s.d AND e.m = s.m
        WHERE x.device_id = s.d AND x.metric_id = s.m AND x.ts = s.ts
          AND x.consumption IS DISTINCT FROM coalesce(s.value - s.base, 0)
    )
    SELECT coalesce(array_agg(e.d), '{}') AS d, coalesce(array_agg(e.m), '{}') AS m INTO v_fast FROM eligible e;

    -- Gauge keys are skipped: their readings are inserted with NULL consumption and quality, which is
    -- exactly what the loop would compute, and half of a typical batch is gauges (bench/RESULTS.md).
    FOR k IN SELECT DISTINCT ON (u.d, u.m) u.d, u.m, u.f FROM unnest(p_device, p_metric, p_from) AS u(d, m, f)
             JOIN metrics gm ON gm.id = u.m
             LEFT JOIN device_metrics gd ON gd.device_id = u.d AND gd.metric_id = u.m
             WHERE coalesce(gd.meter_kind, gm.meter_kind) <> 'gauge'
               AND NOT EXISTS (SELECT 1 FROM unnest(v_fast.d, v_fast.m) AS fk(d, m) WHERE fk.d = u.d AND fk.m = u.m)
             ORDER BY u.d, u.m, u.f LOOP
        SELECT coalesce(dm.meter_kind, mt.meter_kind), dm.rollover_value INTO v_kind, v_rollover
        FROM metrics mt LEFT JOIN device_metrics dm ON dm.device_id = k.d AND dm.metric_id = mt.id
        WHERE mt.id = k.m;

        -- Start one reading back: whether it was a glitch or a reset depends on its successor.
        SELECT x.ts INTO v_start FROM readings x
        WHERE x.device_id = k.d AND x.metric_id = k.m AND x.ts < k.f ORDER BY x.ts DESC LIMIT 1;
        v_start := coalesce(v_start, k.f);
        SELECT x.value INTO v_prev FROM readings x
        WHERE x.device_id = k.d AND x.metric_id = k.m AND x.ts < v_start AND x.quality IS DISTINCT FROM 'glitch'
        ORDER BY x.ts DESC LIMIT 1;

        v_ts := '{}'; v_consumptions := '{}'; v_qualities := '{}'; v_prevs := '{}'; v_changed_from := NULL;
        FOR r IN SELECT x.ts, x.value, x.consumption, x.quality, lead(x.value) OVER (ORDER BY x.ts) AS next_value
                 FROM readings x WHERE x.device_id = k.d AND x.metric_id = k.m AND x.ts >= v_start ORDER BY x.ts LOOP
            v_quality := NULL;
            IF v_kind = 'gauge' THEN
                v_consumption := NULL;
            ELSIF v_kind = 'delta' THEN
                v_consumption := r.value;
            ELSIF v_prev IS NULL OR r.value >= v_prev THEN
                v_consumption := CASE WHEN v_prev IS NULL THEN 0 ELSE r.value - v_prev END;
                v_prev := r.value;
            ELSIF r.next_value IS NULL THEN
                v_consumption := 0; v_quality := 'provisional';
            ELSIF r.next_value >= v_prev THEN
                v_consumption := 0; v_quality := 'glitch';
            ELSIF v_rollover IS NOT NULL AND v_rollover > v_prev THEN
                v_consumption := v_rollover - v_prev + r.value; v_quality := 'rollover';
            ELSE
                v_consumption := r.value; v_quality := 'reset';
            END IF;
            IF r.consumption IS DISTINCT FROM v_consumption OR r.quality IS DISTINCT FROM v_quality THEN
                v_ts := v_ts || r.ts; v_consumptions := v_consumptions || v_consumption;
                v_qualities := v_qualities || v_quality; v_prevs := v_prevs || v_prev;
                IF r.ts < k.f AND r.consumption IS DISTINCT FROM v_consumption THEN
                    v_changed_from := least(v_changed_from, r.ts);
                END IF;
            END IF;
            IF v_quality IN ('reset', 'rollover') THEN
                v_prev := r.value;
            END IF;
        END LOOP;

        IF cardinality(v_ts) > 0 THEN
            UPDATE readings x SET consumption = u.c, quality = u.q
            FROM unnest(v_ts, v_consumptions, v_qualities) AS u(ts, c, q)
            WHERE x.device_id = k.d AND x.metric_id = k.m AND x.ts = u.ts;
            DELETE FROM meter_corrections mc
            WHERE mc.device_id = k.d AND mc.metric_id = k.m AND mc.ts = ANY(v_ts);
            INSERT INTO meter_corrections (device_id, metric_id, ts, kind, previous_value, value, consumption)
            SELECT k.d, k.m, u.ts, u.q, u.p, x.value, u.c
            FROM unnest(v_ts, v_consumptions, v_qualities, v_prevs) AS u(ts, c, q, p)
            JOIN readings x ON x.device_id = k.d AND x.metric_id = k.m AND x.ts = u.ts
            WHERE u.q IS NOT NULL;
        END IF;
        IF v_changed_from IS NOT NULL THEN
            device_id := k.d; metric_id := k.m; changed_from := v_changed_from;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$fn$;
