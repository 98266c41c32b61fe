-- 050_tariffs: what an account pays per unit of a metric, for the cost engine (tds_dash/tariffs/).
-- A tariff (one per account and metric) has dated versions; each version holds its time-of-use
-- periods and their weekly windows, its consumption tiers and its taxes. Monthly surcharges (the
-- "bandeira") belong to the tariff, one value per unit per local month. Money is numeric (exact), never
-- float. Checks here reject nonsense a row can show on its own; what needs several rows (overlapping
-- or missing windows, tier bounds in order) is checked in tds_dash/tariffs/validation.py.
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE tariffs (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    metric_id            smallint NOT NULL REFERENCES metrics(id),
    name                 text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    holiday_subdivision  text CHECK (holiday_subdivision ~ '^[A-Z]{2}$'), -- UF whose holidays count too; NULL: national
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, metric_id)
);

CREATE TABLE tariff_versions (
    id              bigserial PRIMARY KEY,
    tariff_id       bigint NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    valid_from      date NOT NULL,                      -- local date (TDS_TIMEZONE): in force from its midnight on
    currency        text NOT NULL DEFAULT 'BRL' CHECK (currency = 'BRL'),
    fixed_fee       numeric NOT NULL DEFAULT 0 CHECK (fixed_fee >= 0),      -- per device and month
    minimum_charge  numeric NOT NULL DEFAULT 0 CHECK (minimum_charge >= 0), -- per device and month, before taxes
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tariff_id, valid_from)
);

CREATE TABLE tariff_periods (
    id          bigserial PRIMARY KEY,
    version_id  bigint NOT NULL REFERENCES tariff_versions(id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 0),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60),
    price       numeric NOT NULL CHECK (price >= 0),     -- per unit of the metric
    UNIQUE (version_id, position),
    UNIQUE (version_id, name)
);

CREATE TABLE tariff_windows (
    period_id   bigint NOT NULL REFERENCES tariff_periods(id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 0), -- the order the user gave, kept for the form
    day_type    text NOT NULL CHECK (day_type IN ('working', 'saturday', 'sunday_holiday')),
    start_hour  smallint NOT NULL CHECK (start_hour BETWEEN 0 AND 23), -- local whole hours, [start, end)
    end_hour    smallint NOT NULL CHECK (end_hour BETWEEN 1 AND 24),
    CHECK (start_hour < end_hour),
    PRIMARY KEY (period_id, position),
    UNIQUE (period_id, day_type, start_hour)
);

CREATE TABLE tariff_tiers (
    version_id  bigint NOT NULL REFERENCES tariff_versions(id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 0),
    up_to       numeric CHECK (up_to > 0),              -- month's running total per device; NULL: no upper bound
    price       numeric NOT NULL CHECK (price >= 0),
    PRIMARY KEY (version_id, position)
);

CREATE TABLE tariff_taxes (
    version_id  bigint NOT NULL REFERENCES tariff_versions(id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 0),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60),
    rate        numeric NOT NULL CHECK (rate >= 0 AND rate <= 100), -- percent of the subtotal, added on top
    PRIMARY KEY (version_id, position),
    UNIQUE (version_id, name)
);

CREATE TABLE tariff_surcharges (
    tariff_id  bigint NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    month      date NOT NULL CHECK (extract(day FROM month) = 1), -- first local day of the month
    label      text NOT NULL DEFAULT '' CHECK (length(label) <= 60), -- e.g. 'bandeira amarela'; the user's words
    value      numeric NOT NULL CHECK (value >= 0),                   -- per unit of the metric
    PRIMARY KEY (tariff_id, month)
);
