-- 096_cost_cut_prefix: an ended month's cost from its 1st up to an instant inside it (the overview's "same
-- elapsed part of last month"), kept per device, so the card does not price last month's hours on each read
-- (tds_dash/tariffs/cut_prefix.py; issue 14's and 16's speed goals).
-- * cost_cut_prefix: one row per (tariff, ended local month, device): priced up to `cut` (exclusive), valid
--   while `terms` and the device's day stamps over the WHOLE month (count, newest) are unchanged (the month
--   is over: any change of any of its days moves them). It holds the hour lines of [month, cut) and the
--   month-level lines (fee, minimum top-up, their taxes), which depend on the whole month's variable amount
--   (`month_variable`), plus the tier position and the variable amount reached at `cut`, so a later cut of
--   the same state is reached by pricing only [cut, new cut) from there (the cut moves once an hour).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE cost_cut_prefix (
    tariff_id      bigint      NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
    device_id      bigint      NOT NULL,
    month          timestamptz NOT NULL,  -- local month start, as cost_month_stamps.month
    cut            timestamptz NOT NULL,  -- priced up to this instant (exclusive), inside the month
    terms          text        NOT NULL,  -- month_cache.month_terms() of the month when priced
    day_count      integer     NOT NULL,  -- cost_day_stamps of the device in the whole month when priced
    day_last       bigint      NOT NULL,  -- the newest of them
    quantity       numeric,               -- exact hourly consumption in [month, cut); NULL: no hour with one
    running        numeric     NOT NULL,  -- positive consumption in [month, cut): the tier position at cut
    variable       numeric     NOT NULL,  -- pre-tax hour amounts in [month, cut)
    month_variable numeric     NOT NULL,  -- pre-tax hour amounts of the whole month (fee and minimum's input)
    total          numeric     NOT NULL,  -- exact sum of the lines (hour lines before cut + month-level lines)
    priced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tariff_id, month, device_id)
);

CREATE TABLE cost_cut_prefix_lines (
    tariff_id  bigint      NOT NULL,
    device_id  bigint      NOT NULL,
    month      timestamptz NOT NULL,
    component  text        NOT NULL,
    label      text        NOT NULL,
    quantity   numeric,
    amount     numeric     NOT NULL,
    PRIMARY KEY (tariff_id, month, device_id, component, label),
    FOREIGN KEY (tariff_id, month, device_id) REFERENCES cost_cut_prefix ON DELETE CASCADE
);
