"""The running month's cost up to its last whole local day, cached per device (sql/095), so a read of the
running month prices only today's hours, from the tier position the prefix reached.

A prefix row is (tariff, device, local month) → the hour lines of [the 1st, local midnight of `through`),
their quantity, and what pricing the rest of the month needs: `running` (positive consumption so far: the
tier position) and `variable` (pre-tax amounts so far: the minimum top-up's input). It answers only while:
- `through` is the day asked: a new day starting makes the month's rows stale (they are priced again, to
  the new day, on the first read);
- `terms` equal month_cache.month_terms() of the month now: a version from today, a retroactive one, a
  surcharge or tax edit changes it;
- (day_count, day_last) equal the count and newest of the device's cost_day_stamps in [1st, through): the
  triggers of sql/functions/cost_cache.sql renew a day's stamp in the transaction of any change of that
  day's hours (a late reading for an earlier day, a meter correction, a purge), a new stamp is always the
  largest, and every day with hours has one (sql/095 stamps the existing ones), so any change moves the pair.
The pair is read before the missing devices are priced (a later statement sees at least as much), so a
change committed in between leaves a stale pair and the row is priced again next time, never a stale
answer. The hours from `through` on are priced live by grouped.hour_pricing from where the prefix left
off, then fee and minimum from the month's sums: tier pieces are additive in time, so the lines add up
exactly to grouped pricing of the whole month (tests/test_cost_prefix.py checks both to the centavo).
Fee, minimum and their taxes are never in a prefix (they depend on the whole month).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import IN_SCOPE, Scope
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.grouped import hour_pricing
from tds_dash.tariffs.model import CostLine, Tariff, Usage
from tds_dash.tariffs.month_cache import CachedRow, month_terms, per_device_sums

# Candidates: devices of the account (in scope) with hourly rows on some day before `through`; hit: a prefix
# row still valid for them. One statement (one snapshot) says what to price and what the others hold.
_HEAD = (
    "WITH cand AS (SELECT s.device_id, count(*) AS n, max(s.stamp) AS last FROM cost_day_stamps s"
    "  WHERE s.metric_id = :metric_id AND s.account_id = :account_id AND s.account_id " + IN_SCOPE
    + "  AND s.day >= :first AND s.day < :through"
    "  AND (:any_device OR s.device_id = ANY(CAST(:devices AS bigint[]))) GROUP BY 1),"
    " hit AS (SELECT p.device_id, p.quantity, p.total, p.running, p.variable FROM cand JOIN cost_month_prefix p"
    "  ON p.tariff_id = :tariff_id AND p.month = :month AND p.device_id = cand.device_id"
    "  AND p.through = :through AND p.terms = :terms AND p.day_count = cand.n AND p.day_last = cand.last)"
    " SELECT 'miss' AS kind, cand.device_id, cand.n, cand.last, NULL AS component, NULL AS label,"
    "  NULL::numeric AS quantity, NULL::numeric AS amount, NULL::numeric AS running, NULL::numeric AS variable"
    "  FROM cand WHERE NOT EXISTS (SELECT 1 FROM hit WHERE hit.device_id = cand.device_id)"
    " UNION ALL SELECT 'carry', h.device_id, NULL, NULL, NULL, NULL, h.quantity, h.total, h.running, h.variable"
    "  FROM hit h WHERE h.quantity IS NOT NULL"
    # Each device's days from `through` on (today, and any later one): what tariffs/today_cache.py keys on.
    " UNION ALL SELECT 'today', s.device_id, count(*), max(s.stamp), NULL, NULL, NULL, NULL, NULL, NULL"
    "  FROM cost_day_stamps s WHERE s.metric_id = :metric_id AND s.account_id = :account_id AND s.account_id "
    + IN_SCOPE + "  AND s.day >= :through AND s.day < :following"
    "  AND (:any_device OR s.device_id = ANY(CAST(:devices AS bigint[]))) GROUP BY 2")
_READS = {
    "component": sa.text(
        _HEAD + " UNION ALL SELECT 'line', NULL, NULL, NULL, x.component COLLATE \"default\","
        "  x.label COLLATE \"default\", x.quantity, x.amount, NULL, NULL"
        "  FROM (SELECT l.component COLLATE \"C\" AS component, l.label COLLATE \"C\" AS label,"
        "  sum(l.quantity) AS quantity, sum(l.amount) AS amount FROM cost_month_prefix_lines l"
        "  WHERE l.tariff_id = :tariff_id AND l.month = :month"
        # An array, not a join: rows just written have no statistics, and a join estimated at one row
        # became a nested loop over every line per device (1.4 s for 1,000 devices; 10 ms this way).
        "  AND l.device_id = ANY(ARRAY(SELECT device_id FROM hit)) GROUP BY 1, 2) x"),
    "device": sa.text(_HEAD),
    "explorer": sa.text(_HEAD),
}

stats = {"priced": 0}  # device prefixes priced and written by this process (tests, the cost warm-up's)

_PUT = sa.text(
    "INSERT INTO cost_month_prefix AS p (tariff_id, month, through, terms, device_id, day_count, day_last, quantity,"
    " running, variable, total) SELECT :tariff_id, :month, :through, :terms, * FROM unnest("
    "  CAST(:devices AS bigint[]), CAST(:counts AS integer[]), CAST(:lasts AS bigint[]),"
    "  CAST(:quantities AS numeric[]), CAST(:runnings AS numeric[]), CAST(:variables AS numeric[]),"
    "  CAST(:totals AS numeric[])) ORDER BY 1"
    " ON CONFLICT (tariff_id, month, device_id) DO UPDATE SET through = EXCLUDED.through, terms = EXCLUDED.terms,"
    "  day_count = EXCLUDED.day_count, day_last = EXCLUDED.day_last, quantity = EXCLUDED.quantity,"
    "  running = EXCLUDED.running, variable = EXCLUDED.variable, total = EXCLUDED.total, priced_at = now()")
# Prefixes of months that have ended are never read again (cost_months answers them): dropped as the next
# month's are written, so the table holds about one month per tariff and device.
_DROP_ENDED = sa.text("DELETE FROM cost_month_prefix WHERE tariff_id = :tariff_id AND month < :month")
_DROP_LINES = sa.text("DELETE FROM cost_month_prefix_lines WHERE tariff_id = :tariff_id AND month = :month"
                      " AND device_id = ANY(CAST(:devices AS bigint[]))")
_PUT_LINES = sa.text(
    "INSERT INTO cost_month_prefix_lines (tariff_id, month, device_id, component, label, quantity, amount)"
    " SELECT :tariff_id, :month, * FROM unnest(CAST(:devices AS bigint[]), CAST(:components AS text[]),"
    "  CAST(:labels AS text[]), CAST(:quantities AS numeric[]), CAST(:amounts AS numeric[]))")


@dataclasses.dataclass(frozen=True)
class Prefix:
    """A running month up to `through`: cached rows in the mode's shape, devices priced now, where each stands."""

    carried: dict[tuple[int, date], tuple[Decimal, Decimal]]  # (device, month) → (running, variable)
    rows: list[CachedRow]  # 'line' and 'quantity' (mode 'component') or 'device' rows, month = the month start
    usage: list[Usage]  # devices priced now (missing or stale)
    lines: list[CostLine]
    today: dict[int, tuple[int, int]]  # device → (count, newest) of its day stamps from `through` on


def _store(conn: Connection, tariff: Tariff, month: datetime, through: date, terms: str,
           missing: dict[int, tuple[int, int]], usage: list[Usage], lines: list[CostLine],
           carried: dict[tuple[int, date], tuple[Decimal, Decimal]], key_month: date) -> None:
    """Write the prefixes just priced, each with the day stamps read before pricing."""
    priced, devices = per_device_sums(usage, lines), sorted(missing)
    state = [carried.get((d, key_month)) for d in devices]
    line_rows = [(d, c, label, q, a) for d in devices if d in priced for (c, label), (q, a) in sorted(priced[d][2].items())]
    with conn.begin_nested():
        conn.execute(_DROP_ENDED, {"tariff_id": tariff.id, "month": month})
        conn.execute(_PUT, {
            "tariff_id": tariff.id, "month": month, "through": through, "terms": terms, "devices": devices,
            "counts": [missing[d][0] for d in devices], "lasts": [missing[d][1] for d in devices],
            "quantities": [(priced[d][0] or ZERO) if s is not None and d in priced else (ZERO if s is not None else None)
                           for d, s in zip(devices, state)],
            "runnings": [s[0] if s else ZERO for s in state], "variables": [s[1] if s else ZERO for s in state],
            "totals": [priced[d][1] if d in priced else ZERO for d in devices]})
        conn.execute(_DROP_LINES, {"tariff_id": tariff.id, "month": month, "devices": devices})
        if line_rows:
            conn.execute(_PUT_LINES, {"tariff_id": tariff.id, "month": month, "devices": [r[0] for r in line_rows],
                                      "components": [r[1] for r in line_rows], "labels": [r[2] for r in line_rows],
                                      "quantities": [r[3] for r in line_rows], "amounts": [r[4] for r in line_rows]})


def read_prefix(conn: Connection, scope: Scope, tariff: Tariff, month: date, through: date, zone: ZoneInfo,
                device_ids: Sequence[int], mode: str) -> Prefix:
    """The month's valid prefixes to local midnight of `through` in `mode`; missing or stale ones priced and cached."""
    start, cut = periods.local_midnight(month, zone), periods.local_midnight(through, zone)
    terms = month_terms(tariff, month, zone)
    params = {**scope.params(), "tariff_id": tariff.id, "account_id": tariff.account_id,
              "metric_id": tariff.metric_id, "month": start, "first": month, "through": through, "terms": terms,
              "following": periods.add_months(month, 1),
              "any_device": not device_ids, "devices": list(device_ids)}
    carried: dict[tuple[int, date], tuple[Decimal, Decimal]] = {}
    missing: dict[int, tuple[int, int]] = {}
    rows: list[CachedRow] = []
    today: dict[int, tuple[int, int]] = {}
    quantity = None
    with exact():
        for kind, device_id, n, last, component, label, q, amount, running, variable in conn.execute(
                _READS[mode], params).all():
            if kind == "today":
                today[device_id] = (n, last)
            elif kind == "miss":
                missing[device_id] = (n, last)
            elif kind == "carry":
                carried[(device_id, month)] = (running, variable)
                quantity = q if quantity is None else quantity + q
                if mode != "component":
                    rows.append(CachedRow("device", device_id, start, None, None, q, amount))
            else:
                rows.append(CachedRow("line", None, start, component, label, q, amount))
    if quantity is not None and mode == "component":
        rows.append(CachedRow("quantity", None, start, None, None, quantity, None))
    if not missing:
        return Prefix(carried, rows, [], [], today)
    stats["priced"] += len(missing)
    found = hour_pricing(conn, scope, tariff, start, cut, start, cut, "month", zone, sorted(missing))
    now_carried = {key: (found.running.get(key, ZERO), amount) for key, amount in found.variable.items()}
    _store(conn, tariff, start, through, terms, missing, found.usage, found.lines, now_carried, month)
    return Prefix({**carried, **now_carried}, rows, found.usage, found.lines, today)


def running_month(start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> tuple[date, date] | None:
    """(month, through) when the span holds the start of `now`'s local month and its days before today."""
    today = now.astimezone(zone).date()
    month = today.replace(day=1)
    if today == month or periods.local_midnight(month, zone) < start or periods.local_midnight(today, zone) > end:
        return None
    return month, today

