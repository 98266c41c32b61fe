-- 095_cost_prefix: the running month's cost up to its last whole local day, kept per device, so a read of
-- the running month prices only today's hours (tds_dash/tariffs/month_prefix.py; issue 14's speed goal).
-- * cost_day_stamps: one row per (device, metric, local day) that has (or had) hourly rollups, restamped
--   by the same statement-level triggers as cost_month_stamps (sql/functions/cost_cache.sql). A month's
--   stamp moves on every rollup pass (today's hour changes); a day's stamp moves only when that day's
--   hours change, so a prefix is valid while the days before its end keep the stamps it was priced at.
-- * cost_month_prefix / cost_month_prefix_lines: a device-month priced from its 1st up to local midnight
--   of `through` (exclusive): quantity, exact hour lines per (component, label), and what pricing the rest
--   needs: the tier position reached (`running`, the month's positive total so far) and the variable
--   amount so far (`variable`, for the minimum top-up). Fee, minimum and their taxes are not in it: they
--   depend on the whole month and are priced on each read.
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE cost_day_stamps (
    device_id   bigint   NOT NULL,
    metric_id   smallint NOT NULL,
    day         date     NOT NULL,  -- local date in the rollup zone
    account_id  bigint   NOT NULL,  -- the device's account (scopes every read)
    stamp       bigint   NOT NULL DEFAULT nextval('cost_month_stamp_seq'), -- new on every change: never reused
    PRIMARY KEY (device_id, metric_id, day)
) WITH (fillfactor = 70);  -- restamped in place by the rollup pass (HOT updates)

CREATE INDEX cost_day_stamps_account ON cost_day_stamps (account_id, metric_id, day);

-- Every day with rollups gets a stamp now, so that "no stamp" always means "no hourly row": a prefix's
-- (count, newest) of its days then moves with any change, a TRUNCATE included.
INSERT INTO cost_day_stamps (device_id, metric_id, day, account_id)
SELECT device_id, metric_id, CAST(bucket AT TIME ZONE coalesce((SELECT timezone FROM rollup_settings), 'UTC') AS date),
       account_id
FROM consumption_daily
ON CONFLICT DO NOTHING;

CREATE TABLE cost_month_prefix (
    tariff_id  bigint      NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    device_id  bigint      NOT NULL,
    month      timestamptz NOT NULL,  -- local month start, as cost_month_stamps.month
    through    date        NOT NULL,  -- priced up to local midnight of this day (exclusive)
    terms      text        NOT NULL,  -- month_cache.month_terms() of the month when priced
    day_count  integer     NOT NULL,  -- cost_day_stamps of the device in [month, through) when priced
    day_last   bigint      NOT NULL,  -- the newest of them
    quantity   numeric,               -- exact sum of the hourly consumption; NULL: no hour with one
    running    numeric     NOT NULL,  -- positive consumption so far: the tier position reached
    variable   numeric     NOT NULL,  -- pre-tax hour amounts so far (the minimum top-up's input)
    total      numeric     NOT NULL,  -- exact sum of the lines (hour lines only)
    priced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tariff_id, month, device_id)
);

CREATE TABLE cost_month_prefix_lines (
    tariff_id  bigint      NOT NULL,
    device_id  bigint      NOT NULL,
    month      timestamptz NOT NULL,
    component  text        NOT NULL,
    label      text        NOT NULL,
    quantity   numeric,
    amount     numeric     NOT NULL,
    PRIMARY KEY (tariff_id, month, device_id, component, label),
    FOREIGN KEY (tariff_id, month, device_id) REFERENCES cost_month_prefix ON DELETE CASCADE
);
