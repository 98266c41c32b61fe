"""An ended month's cost from its 1st up to an instant inside it, cached per device (sql/096): the overview's
"same elapsed part of last month" read instead of pricing last month's hours on each call.

A row is (tariff, ended local month, device) → the lines of [the 1st, `cut`): hour lines, plus the month-level
lines (fee, minimum top-up and their taxes, bucketed at the month's start, so inside any span from the 1st),
which depend on the WHOLE month's variable amount (`month_variable`), exactly as live pricing of a cut month
gives them (tariffs/costs._live prices the whole month and keeps the lines inside the span). It answers while:
- `terms` equal month_cache.month_terms() of the month now (a version, a retroactive one, a surcharge or tax
  edit changes it);
- (day_count, day_last) equal the count and newest of the device's cost_day_stamps over the whole month: the
  month is over, so any change of any of its hours (a late reading, a correction, a purge) moves the pair;
- `cut` is the instant asked. A row of the same state with an earlier cut (the card's cut moves once an
  hour) is extended: only [its cut, the new cut) is priced, from the tier position and variable amount it
  reached (tier pieces are additive in time), and its lines grow by them; the month-level lines stay (the
  whole month's variable did not change, or the stamps would have). A later cut than asked: priced again.
The stamps are read before pricing (a later statement sees at least as much): a change committed in between
leaves a stale pair and the row is priced again next time, never a stale answer. Two readers extending the
same row: the update is conditional on the cut it read, so the lines grow once.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import IN_SCOPE, Scope
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.grouped import hour_pricing, month_level
from tds_dash.tariffs.model import CostLine, Tariff, Usage
from tds_dash.tariffs.month_cache import CachedRow, month_terms, per_device_sums

_HEAD = (
    "WITH cand AS (SELECT s.device_id, count(*) AS n, max(s.stamp) AS last FROM cost_day_stamps s"
    "  WHERE s.metric_id = :metric_id AND s.account_id = :account_id AND s.account_id " + IN_SCOPE
    + "  AND s.day >= :first AND s.day < :following"
    "  AND (:any_device OR s.device_id = ANY(CAST(:devices AS bigint[]))) GROUP BY 1),"
    " hit AS MATERIALIZED (SELECT p.device_id, p.cut, p.quantity, p.total, p.running, p.variable"
    "  FROM cand JOIN cost_cut_prefix p ON p.tariff_id = :tariff_id AND p.month = :month"
    "  AND p.device_id = cand.device_id AND p.cut <= :cut AND p.terms = :terms AND p.day_count = cand.n"
    "  AND p.day_last = cand.last)"
    " SELECT 'miss' AS kind, cand.device_id, cand.n, cand.last, NULL::timestamptz AS cut, NULL AS component,"
    "  NULL AS label, NULL::numeric AS quantity, NULL::numeric AS amount, NULL::numeric AS running,"
    "  NULL::numeric AS variable FROM cand WHERE NOT EXISTS (SELECT 1 FROM hit WHERE hit.device_id = cand.device_id)"
    " UNION ALL SELECT 'carry', h.device_id, NULL, NULL, h.cut, NULL, NULL, h.quantity, h.total, h.running,"
    "  h.variable FROM hit h")
_READS = {
    "component": sa.text(
        _HEAD + " UNION ALL SELECT 'line', NULL, NULL, NULL, NULL, x.component COLLATE \"default\","
        "  x.label COLLATE \"default\", x.quantity, x.amount, NULL, NULL"
        "  FROM (SELECT l.component COLLATE \"C\" AS component, l.label COLLATE \"C\" AS label,"
        "  sum(l.quantity) AS quantity, sum(l.amount) AS amount FROM cost_cut_prefix_lines l"
        "  WHERE l.tariff_id = :tariff_id AND l.month = :month"
        "  AND l.device_id = ANY(ARRAY(SELECT device_id FROM hit)) GROUP BY 1, 2) x"),  # an array: see month_prefix
    "device": sa.text(_HEAD),
    "explorer": sa.text(_HEAD),
}

# Months before the one written are not asked by the card again: dropped as a newer month's rows are written.
_DROP_OLDER = sa.text("DELETE FROM cost_cut_prefix WHERE tariff_id = :tariff_id AND month < :month")
_PUT = sa.text(
    "INSERT INTO cost_cut_prefix AS p (tariff_id, month, cut, terms, device_id, day_count, day_last, quantity,"
    " running, variable, month_variable, total) SELECT :tariff_id, :month, :cut, :terms, * FROM unnest("
    "  CAST(:devices AS bigint[]), CAST(:counts AS integer[]), CAST(:lasts AS bigint[]),"
    "  CAST(:quantities AS numeric[]), CAST(:runnings AS numeric[]), CAST(:variables AS numeric[]),"
    "  CAST(:month_variables AS numeric[]), CAST(:totals AS numeric[])) ORDER BY 1"
    " ON CONFLICT (tariff_id, month, device_id) DO UPDATE SET cut = EXCLUDED.cut, terms = EXCLUDED.terms,"
    "  day_count = EXCLUDED.day_count, day_last = EXCLUDED.day_last, quantity = EXCLUDED.quantity,"
    "  running = EXCLUDED.running, variable = EXCLUDED.variable, month_variable = EXCLUDED.month_variable,"
    "  total = EXCLUDED.total, priced_at = now()")
_DROP_LINES = sa.text("DELETE FROM cost_cut_prefix_lines WHERE tariff_id = :tariff_id AND month = :month"
                      " AND device_id = ANY(CAST(:devices AS bigint[]))")
_PUT_LINES = sa.text(
    "INSERT INTO cost_cut_prefix_lines AS l (tariff_id, month, device_id, component, label, quantity, amount)"
    " SELECT :tariff_id, :month, * FROM unnest(CAST(:devices AS bigint[]), CAST(:components AS text[]),"
    "  CAST(:labels AS text[]), CAST(:quantities AS numeric[]), CAST(:amounts AS numeric[]))"
    " ON CONFLICT (tariff_id, month, device_id, component, label) DO UPDATE SET"
    "  quantity = CASE WHEN :add THEN CASE WHEN l.quantity IS NULL AND EXCLUDED.quantity IS NULL THEN NULL"
    "  ELSE coalesce(l.quantity, 0) + coalesce(EXCLUDED.quantity, 0) END ELSE EXCLUDED.quantity END,"
    "  amount = CASE WHEN :add THEN l.amount + EXCLUDED.amount ELSE EXCLUDED.amount END")
# An extension: only rows still at the cut (and state) they were read at; the devices it moved come back.
_EXTEND = sa.text(
    "UPDATE cost_cut_prefix p SET cut = :cut, quantity = CASE WHEN p.quantity IS NULL AND u.quantity IS NULL"
    "  THEN NULL ELSE coalesce(p.quantity, 0) + coalesce(u.quantity, 0) END, running = u.running,"
    "  variable = u.variable, total = p.total + u.total, priced_at = now()"
    " FROM unnest(CAST(:devices AS bigint[]), CAST(:olds AS timestamptz[]), CAST(:quantities AS numeric[]),"
    "  CAST(:runnings AS numeric[]), CAST(:variables AS numeric[]), CAST(:totals AS numeric[]))"
    "  AS u(device_id, old, quantity, running, variable, total)"
    " WHERE p.tariff_id = :tariff_id AND p.month = :month AND p.device_id = u.device_id AND p.cut = u.old"
    "  AND p.terms = :terms RETURNING p.device_id")


@dataclasses.dataclass(frozen=True)
class CutPrefix:
    """An ended month up to `cut`: rows read in the mode's shape, and the devices priced (or extended) now."""

    rows: list[CachedRow]  # 'line' and 'quantity' (mode 'component') or 'device' rows, month = the month start
    usage: list[Usage]
    lines: list[CostLine]


def cut_month(start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> date | None:
    """The local month a span by month ends inside of, when the span holds its 1st and the month is over."""
    month = (end - timedelta(microseconds=1)).astimezone(zone).date().replace(day=1)
    lo = periods.local_midnight(month, zone)
    hi = periods.local_midnight(periods.add_months(month, 1), zone)
    if lo < start or not lo < end < hi or hi > now:
        return None
    return month


def _put_lines(conn: Connection, tariff: Tariff, month: datetime, devices, sums: dict[int, tuple], add: bool) -> None:
    rows = [(d, c, label, q, a) for d in devices if d in sums for (c, label), (q, a) in sorted(sums[d][2].items())]
    if rows:
        conn.execute(_PUT_LINES, {"tariff_id": tariff.id, "month": month, "add": add,
                                  "devices": [r[0] for r in rows], "components": [r[1] for r in rows],
                                  "labels": [r[2] for r in rows], "quantities": [r[3] for r in rows],
                                  "amounts": [r[4] for r in rows]})


def read_cut(conn: Connection, scope: Scope, tariff: Tariff, month: date, cut: datetime, zone: ZoneInfo,
             device_ids: Sequence[int], mode: str) -> CutPrefix:
    """[month's 1st, cut) of an ended month in `mode`: valid rows read, earlier cuts extended, the rest priced."""
    start = periods.local_midnight(month, zone)
    following = periods.add_months(month, 1)
    hi = periods.local_midnight(following, zone)
    terms = month_terms(tariff, month, zone)
    params = {**scope.params(), "tariff_id": tariff.id, "account_id": tariff.account_id,
              "metric_id": tariff.metric_id, "month": start, "first": month, "following": following, "cut": cut,
              "terms": terms, "any_device": not device_ids, "devices": list(device_ids)}
    missing: dict[int, tuple[int, int]] = {}
    extend: dict[datetime, dict[int, tuple[Decimal, Decimal]]] = defaultdict(dict)
    rows: list[CachedRow] = []
    quantity = None
    with exact():
        for kind, device_id, n, last, old, component, label, q, amount, running, variable in conn.execute(
                _READS[mode], params).all():
            if kind == "miss":
                missing[device_id] = (n, last)
            elif kind == "carry":
                if old != cut:
                    extend[old][device_id] = (running, variable)
                if q is not None:
                    quantity = q if quantity is None else quantity + q
                if mode != "component":
                    rows.append(CachedRow("device", device_id, start, None, None, q or ZERO, amount))
            else:
                rows.append(CachedRow("line", None, start, component, label, q, amount))
    if quantity is not None and mode == "component":
        rows.append(CachedRow("quantity", None, start, None, None, quantity, None))
    usage: list[Usage] = []
    lines: list[CostLine] = []
    for old, carried in sorted(extend.items()):  # usually one: the last cut read, an hour or more ago
        devices = sorted(carried)
        found = hour_pricing(conn, scope, tariff, old, cut, old, cut, "month", zone, devices,
                             {(d, month): state for d, state in carried.items()})
        sums = per_device_sums(found.usage, found.lines)
        with conn.begin_nested():
            moved = conn.execute(_EXTEND, {
                "tariff_id": tariff.id, "month": start, "cut": cut, "terms": terms, "devices": devices,
                "olds": [old] * len(devices), "quantities": [sums.get(d, [None])[0] for d in devices],
                "runnings": [found.running[(d, month)] for d in devices],
                "variables": [found.variable[(d, month)] for d in devices],
                "totals": [sums[d][1] if d in sums else ZERO for d in devices]}).scalars().all()
            _put_lines(conn, tariff, start, sorted(moved), sums, add=True)
        usage += found.usage
        lines += found.lines
    if missing:
        devices = sorted(missing)
        before = hour_pricing(conn, scope, tariff, start, cut, start, cut, "month", zone, devices)
        after = hour_pricing(conn, scope, tariff, cut, hi, cut, cut, "month", zone, devices,
                             {key: (before.running.get(key, ZERO), amount) for key, amount in before.variable.items()})
        fees = month_level(tariff, after.variable, zone, start, hi)
        priced = before.lines + fees
        sums = per_device_sums(before.usage, priced)
        billed = {d for d, _ in after.variable}
        with conn.begin_nested():
            conn.execute(_DROP_OLDER, {"tariff_id": tariff.id, "month": start})
            conn.execute(_PUT, {
                "tariff_id": tariff.id, "month": start, "cut": cut, "terms": terms, "devices": devices,
                "counts": [missing[d][0] for d in devices], "lasts": [missing[d][1] for d in devices],
                "quantities": [sums.get(d, [None])[0] for d in devices],
                "runnings": [before.running.get((d, month), ZERO) for d in devices],
                "variables": [before.variable.get((d, month), ZERO) for d in devices],
                "month_variables": [after.variable.get((d, month), ZERO) if d in billed else ZERO for d in devices],
                "totals": [sums[d][1] if d in sums else ZERO for d in devices]})
            conn.execute(_DROP_LINES, {"tariff_id": tariff.id, "month": start, "devices": devices})
            _put_lines(conn, tariff, start, devices, sums, add=False)
        usage += before.usage
        lines += priced
    return CutPrefix(rows, usage, lines)
