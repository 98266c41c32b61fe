"""The running month's hours from today on, priced per device and kept in this process, so a read reprices
only the devices whose today changed since the last read (tariffs/costs._running; issue 14's speed goal).

Under live ingest a meter reports every 15 minutes and a chart refreshes every 30–60 s: between two reads
most devices' hours are as they were. An entry is (database, tariff, span's end kept to the month's end,
device) → the device's usage and cost lines of [local midnight of today, that end), with its month-level
lines (fee, minimum top-up and their taxes) from the whole month's variable amount, summed per component and
label (what every reader sums them to), and their total. A read asking several ends (the overview's card:
so far, and up to the last whole hour) prices a changed device once for all of them (hour_pricing's cuts:
each end's lines are the pieces before it, exactly). It is used only while its key is equal, all of:
- month_cache.month_terms() of the month (a version from today, a retroactive one, a bandeira or tax edit);
- the day (`through`) (the span's end is in the entry's name: several ends keep theirs; its start is at or
  before the month's 1st for every running-month read, so it changes nothing of these lines);
- (count, newest) of the device's day stamps from today to the month's end (sql/095: the triggers renew a
  day's stamp in the transaction of any change of its hours; a day with hours always has one);
- the tier position and variable amount the device's prefix carried into today (month_prefix.read_prefix):
  a late reading for an earlier day changes the prefix, hence them.
The stamps are read (in the prefix's statement) before the devices are priced, so a change committed in
between leaves the entry under an old key: never served again. Entries hold one device's pricing each and
are used only for devices the scoped statement returned: never another scope's answer (and keyed by the
database's URL: never another database's). Bounded: at most MAX_ENTRIES entries, the least recently used
leave first. (Emptying the whole cache when full made every read after it a cold one: spans accumulate —
the overview card's "so far" span ends with the hour in progress, a new span every hour — and a fleet's
reads then repriced every device about once per 20,000 new entries: bench/RESULTS.md.)
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import Scope
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.grouped import hour_pricing, month_level
from tds_dash.tariffs.model import CostLine, Tariff, Usage
from tds_dash.tariffs.month_cache import CachedRow, month_terms
from tds_dash.tariffs.month_prefix import Prefix

MAX_ENTRIES = 20_000  # ~9 parts each: a few span ends of a few thousand devices, a few tens of MB
Parts = tuple[tuple[str, str, Decimal | None, Decimal], ...]  # (component, label, quantity, amount)
Entry = tuple[int, Decimal | None, Parts, Decimal]  # device, quantity (None: no hourly row), parts, total

_LOCK = threading.Lock()
_ENTRIES: OrderedDict[tuple, tuple[tuple, Entry]] = OrderedDict()
stats = {"priced": 0, "reused": 0}  # devices priced / read from the cache: what tests and bench/cost.py check


def clear() -> None:
    """Forget every entry (bench/cost.py's cold read)."""
    with _LOCK:
        _ENTRIES.clear()


@dataclasses.dataclass(frozen=True)
class Rest:
    """[today, a span's end) of every device of the prefix: per device its quantity, its hour and month-level
    lines summed per component and label (every reader sums them so: one bucket, the month's), their total."""

    entries: list[Entry]

    def total(self) -> Decimal:
        """Every device's cost, exact."""
        with exact():
            return sum((e[3] for e in self.entries), ZERO)

    def rows(self, mode: str, bucket: datetime, shown: Sequence[int] = ()) -> list[CachedRow]:
        """As the cache's rows of `mode` (what costs._with_cached, consumption_with_cost and device_sums sum):
        'line' and 'quantity' summed over the devices, 'device' per device, or 'device_total' per device and
        'series' per charted device and one for the others."""
        if mode == "component":
            return _component_rows(self.entries, bucket)
        kept = [e for e in self.entries if e[1] is not None or e[2]]  # devices a reader of lines would list
        if mode != "explorer":
            return [CachedRow("device", d, bucket, None, None, q or ZERO, total) for d, q, _, total in kept]
        charted, series = frozenset(shown), defaultdict(lambda: ZERO)
        with exact():
            for d, _, parts, total in kept:
                if parts:
                    series[d if d in charted else None] += total
        return ([CachedRow("device_total", d, None, None, None, None, total) for d, _, _, total in kept]
                + [CachedRow("series", d, bucket, None, None, None, a) for d, a in series.items()])


def _component_rows(entries: list[Entry], bucket: datetime) -> list[CachedRow]:
    parts: dict[tuple[str, str], list] = {}
    quantity = None
    with exact():
        for _, q, lines, _ in entries:
            if q is not None:
                quantity = q if quantity is None else quantity + q
            for c, label, lq, a in lines:
                part = parts.get((c, label))
                if part is None:
                    parts[(c, label)] = [lq, a]
                else:
                    if lq is not None:
                        part[0] = lq if part[0] is None else part[0] + lq
                    part[1] += a
    rows = [CachedRow("line", None, bucket, c, label, q, a) for (c, label), (q, a) in parts.items()]
    if quantity is not None:
        rows.append(CachedRow("quantity", None, bucket, None, None, quantity, None))
    return rows


def _merged(device: int, usage: list[Usage], lines: list[CostLine]) -> Entry:
    """One device's usage and lines of a span summed per component and label, and their total (inside exact():
    the caller's, one for every device: entering a decimal context costs more than a device's sums)."""
    parts: dict[tuple[str, str], list] = {}
    for x in lines:
        part = parts.setdefault((x.component, x.label), [None, ZERO])
        if x.quantity is not None:
            part[0] = (part[0] or ZERO) + x.quantity
        part[1] += x.amount
    quantity = sum((u.quantity for u in usage), ZERO) if usage else None
    total = sum((a for _, a in parts.values()), ZERO)
    return device, quantity, tuple((c, label, q, a) for (c, label), (q, a) in parts.items()), total


def price_rest(conn: Connection, scope: Scope, tariff: Tariff, month: date, through: date, cut: datetime,
               hi: datetime, ends: Sequence[datetime], zone: ZoneInfo, device_ids: Sequence[int],
               prefix: Prefix) -> dict[datetime, Rest]:
    """For each span end asked (kept to the month's end): the hours of [cut, end) from the prefix's tier
    positions, and the month-level lines, per device. Only the devices whose key changed are priced, once for
    every end (hour_pricing's cuts), the others read from this process's entries."""
    base = (month_terms(tariff, month, zone), through, zone.key)
    # Per span end and per database (one process may talk to several: tests, where ids and stamps repeat). A
    # running month's span starts at or before the 1st (month_prefix.running_month), so its start changes
    # nothing here: the explorer's, the API's and the overview's bars (all to the month's end) share entries.
    ends = sorted({min(e, hi) for e in ends})
    spans = [(str(conn.engine.url), tariff.id, e) for e in ends]
    devices = {d for d, _ in prefix.carried} | set(prefix.today)
    found_rows: dict[datetime, list[Entry]] = {e: [] for e in ends}
    todo: dict[int, tuple] = {}
    with _LOCK:  # an OrderedDict kept in use order: a hit moves to the end, eviction takes the front
        for device in devices:
            state = prefix.carried.get((device, month))  # as text: the same digits, not only the same value
            key = (base, prefix.today.get(device), state and (str(state[0]), str(state[1])))
            entries = [_ENTRIES.get((*span, device)) for span in spans]
            if all(entry is not None and entry[0] == key for entry in entries):
                for span, entry in zip(spans, entries):
                    _ENTRIES.move_to_end((*span, device))
                    found_rows[span[2]].append(entry[1])
            else:
                todo[device] = key
    stats["reused"] += len(devices) - len(todo)
    stats["priced"] += len(todo)
    if todo:
        _price(conn, scope, tariff, month, cut, hi, ends, spans, zone, device_ids, prefix, todo, found_rows)
    return {e: Rest(found_rows[e]) for e in ends}


def _price(conn: Connection, scope: Scope, tariff: Tariff, month: date, cut: datetime, hi: datetime,
           ends: list[datetime], spans: list[tuple], zone: ZoneInfo, device_ids: Sequence[int], prefix: Prefix,
           todo: dict[int, tuple], found_rows: dict[datetime, list[Entry]]) -> None:
    """Price the devices in `todo` for every end at once, keep their entries and add them to `found_rows`."""
    carried = {(d, month): prefix.carried[(d, month)] for d in todo if (d, month) in prefix.carried}
    variable: dict[tuple[int, date], Decimal] = {key: amount for key, (_, amount) in carried.items()}
    by_device: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))  # (side, usage), (side, line)
    moved = sorted(d for d in todo if d in prefix.today)  # no day stamp from today on: no hour to price
    if moved:
        whole = not device_ids and len(moved) == len(prefix.today)  # the account whole: no id list to look up
        found = hour_pricing(conn, scope, tariff, cut, hi, cut, ends[-1], "month", zone,
                             () if whole else moved, carried, tuple(ends[:-1]))
        variable.update(found.variable)
        for u, side in zip(found.usage, found.usage_sides):
            by_device[u.device_id][0].append((side, u))
        for x, side in zip(found.lines, found.line_sides):
            by_device[x.device_id][1].append((side, x))
    lo = periods.local_midnight(month, zone)
    for x in month_level(tariff, {k: v for k, v in variable.items() if k[0] in todo}, zone, lo, hi):
        by_device[x.device_id][1].append((0, x))  # the whole month's: inside every span from the 1st
    priced = {}
    with exact():
        for device in todo:
            sided_usage, sided_lines = by_device.get(device, ((), ()))
            priced[device] = [_merged(device, [u for side, u in sided_usage if side <= i],
                                      [x for side, x in sided_lines if side <= i]) for i in range(1, len(ends) + 1)]
    with _LOCK:
        for device, key in todo.items():
            for span, entry in zip(spans, priced[device]):
                _ENTRIES[(*span, device)] = (key, entry)
                _ENTRIES.move_to_end((*span, device))
        while len(_ENTRIES) > MAX_ENTRIES:
            _ENTRIES.popitem(last=False)
    for device in todo:
        for end, entry in zip(ends, priced[device]):
            found_rows[end].append(entry)
