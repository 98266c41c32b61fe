-- 085_cost_cache: device-month costs kept per tariff state, so a past month's cost is read, not priced
-- again from its ~730 device-hours (issue 14's speed goal; tds_dash/tariffs/month_cache.py).
-- * cost_month_stamps: one row per (device, metric, local month) that has (or had) hourly rollups; a
--   trigger on consumption_hourly (sql/functions/cost_cache.sql) gives it a new stamp from a sequence in
--   the same transaction as any insert, update or delete of that month's hourly rows. A cached month is
--   valid only while the stamp it was priced at is still the current one.
-- * cost_months / cost_month_lines: a device-month priced under one tariff: its quantity, exact total
--   and one line per (component, label), with the stamp and a fingerprint of the tariff terms that price
--   that month (versions in force in it, its surcharge, holidays, zone). Any edit of those terms gives
--   another fingerprint, so the row stops matching; nothing has to delete it.
-- * cost_month_sums: the same lines summed over all the account's devices of one month, for reads without
--   a device filter (/api/v1/cost, the overview): valid while the terms and the month's set of stamps
--   (how many, and the newest: a stamp only ever takes a new, larger value) are those it was summed at.
-- Frozen once applied: change the schema with a new numbered file.

CREATE SEQUENCE cost_month_stamp_seq;

CREATE TABLE cost_month_stamps (
    device_id   bigint      NOT NULL,
    metric_id   smallint    NOT NULL,
    month       timestamptz NOT NULL,  -- local month start in the rollup zone (as consumption_monthly.bucket)
    account_id  bigint      NOT NULL,  -- the device's account (devices never move between accounts)
    stamp       bigint      NOT NULL DEFAULT nextval('cost_month_stamp_seq'), -- new on every change: never reused
    PRIMARY KEY (device_id, metric_id, month)
) WITH (fillfactor = 70);  -- restamped in place by the rollup pass (HOT updates)

CREATE INDEX cost_month_stamps_account ON cost_month_stamps (account_id, metric_id, month);

-- Months that already have rollups (from the monthly level: one row per device-month).
INSERT INTO cost_month_stamps (device_id, metric_id, month, account_id)
SELECT device_id, metric_id, bucket, account_id FROM consumption_monthly;

CREATE TABLE cost_months (
    tariff_id  bigint      NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    device_id  bigint      NOT NULL,
    month      timestamptz NOT NULL,  -- local month start, as cost_month_stamps.month
    terms      text        NOT NULL,  -- fingerprint of the terms pricing this month (month_cache.month_terms)
    stamp      bigint      NOT NULL,  -- cost_month_stamps.stamp read before the hours were priced
    quantity   numeric,               -- exact sum of the month's hourly consumption; NULL: no hour with one
    total      numeric     NOT NULL,  -- exact sum of the lines
    priced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tariff_id, month, device_id)  -- a read takes a tariff's months: each one contiguous
);

CREATE TABLE cost_month_lines (
    tariff_id  bigint      NOT NULL,
    device_id  bigint      NOT NULL,
    month      timestamptz NOT NULL,
    component  text        NOT NULL,  -- tds_dash.tariffs.model.COMPONENTS
    label      text        NOT NULL,  -- period name, tier bounds, surcharge label, tax name, or ''
    quantity   numeric,               -- units priced; NULL for fee, minimum and taxes
    amount     numeric     NOT NULL,  -- exact, never rounded
    PRIMARY KEY (tariff_id, month, device_id, component, label),
    FOREIGN KEY (tariff_id, month, device_id) REFERENCES cost_months ON DELETE CASCADE
);

CREATE TABLE cost_month_sums (
    tariff_id     bigint      NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    month         timestamptz NOT NULL,
    component     text        NOT NULL,  -- '' (with label ''): the month's header row, its quantity
    label         text        NOT NULL,
    terms         text        NOT NULL,  -- as cost_months.terms
    device_months integer     NOT NULL,  -- stamps of the month (its devices) when summed
    last_stamp    bigint      NOT NULL,  -- the newest of them
    quantity      numeric,
    amount        numeric,
    PRIMARY KEY (tariff_id, month, component, label)
);
