-- The cost cache's change stamps (sql/085, sql/095), re-applied after every migration run (idempotent).
-- Statement-level triggers on consumption_hourly restamp each (device, metric, local month) and each
-- (device, metric, local day) whose hourly rows a statement inserted, updated or deleted, in that
-- statement's transaction: whichever path changed them (the rollup pass's appended or late merge, a
-- rebuild, a purge, a test writing rows directly). Cost: two small upserts per device-month/-day touched
-- per statement, in the rollup pass (bench/RESULTS.md, bench/stamp_cost.py).
-- Only where consumption_hourly is a plain table: on TimescaleDB it is a continuous aggregate, no trigger
-- exists and tds_dash/tariffs/month_cache.py prices every month live (it checks for the trigger).

CREATE OR REPLACE FUNCTION tds_stamp_cost_months() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v_tz text := coalesce((SELECT timezone FROM rollup_settings), 'UTC');
BEGIN
    INSERT INTO cost_month_stamps AS s (device_id, metric_id, month, account_id)
    SELECT device_id, metric_id, date_trunc('month', bucket, v_tz), max(account_id)
    FROM changed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (device_id, metric_id, month) DO UPDATE
        SET stamp = nextval('cost_month_stamp_seq'), account_id = EXCLUDED.account_id;
    INSERT INTO cost_day_stamps AS s (device_id, metric_id, day, account_id)
    SELECT device_id, metric_id, CAST(bucket AT TIME ZONE v_tz AS date), max(account_id)
    FROM changed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (device_id, metric_id, day) DO UPDATE
        SET stamp = nextval('cost_month_stamp_seq'), account_id = EXCLUDED.account_id;
    RETURN NULL;
END
$fn$;

-- A TRUNCATE (tds_rebuild_rollups) leaves no hourly row: every stamp goes, the rebuild's inserts stamp anew.
CREATE OR REPLACE FUNCTION tds_clear_cost_stamps() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM cost_month_stamps;
    DELETE FROM cost_day_stamps;
    RETURN NULL;
END
$fn$;

DO $do$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('consumption_hourly')) IS DISTINCT FROM 'r' THEN
        RETURN;
    END IF;
    DROP TRIGGER IF EXISTS consumption_hourly_cost_ins ON consumption_hourly;
    DROP TRIGGER IF EXISTS consumption_hourly_cost_upd ON consumption_hourly;
    DROP TRIGGER IF EXISTS consumption_hourly_cost_del ON consumption_hourly;
    DROP TRIGGER IF EXISTS consumption_hourly_cost_trunc ON consumption_hourly;
    CREATE TRIGGER consumption_hourly_cost_ins AFTER INSERT ON consumption_hourly
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tds_stamp_cost_months();
    CREATE TRIGGER consumption_hourly_cost_upd AFTER UPDATE ON consumption_hourly
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tds_stamp_cost_months();
    CREATE TRIGGER consumption_hourly_cost_del AFTER DELETE ON consumption_hourly
        REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tds_stamp_cost_months();
    CREATE TRIGGER consumption_hourly_cost_trunc AFTER TRUNCATE ON consumption_hourly
        FOR EACH STATEMENT EXECUTE FUNCTION tds_clear_cost_stamps();
END
$do$;
