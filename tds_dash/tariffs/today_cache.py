"""The running month's hours from today on, priced per device and kept in this process, so a read reprices
only the devices whose today changed since the last read (tariffs/costs._running; issue 14's speed goal).

Under live ingest a meter reports every 15 minutes and a chart refreshes every 30–60 s: between two reads
most devices' hours are as they were. An entry is (database, tariff, span asked, device) → the device's usage and cost lines of
[local midnight of today, the month's end) kept to the span, with its month-level lines (fee, minimum top-up
and their taxes) from the variable amount so reached. It is used only while its key is equal, all of:
- month_cache.month_terms() of the month (a version from today, a retroactive one, a bandeira or tax edit);
- the day (`through`) (the span's start and end are in the entry's name: several spans keep theirs);
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

from tds_dash.queries.scope import Scope
from tds_dash.tariffs.grouped import hour_pricing, month_level
from tds_dash.tariffs.model import CostLine, Tariff, Usage
from tds_dash.tariffs.month_cache import month_terms
from tds_dash.tariffs.month_prefix import Prefix

MAX_ENTRIES = 20_000  # ~11 lines each: a few spans of a few thousand devices, tens of MB

_LOCK = threading.Lock()
_ENTRIES: OrderedDict[tuple, tuple[tuple, tuple[Usage, ...], tuple[CostLine, ...]]] = OrderedDict()
stats = {"priced": 0, "reused": 0}  # devices priced / read from the cache: what tests and bench/cost.py check


def clear() -> None:
    """Forget every entry (bench/cost.py's cold read)."""
    with _LOCK:
        _ENTRIES.clear()


@dataclasses.dataclass(frozen=True)
class Rest:
    """[today, month's end) of every device of the prefix: usage and lines kept to the span."""

    usage: list[Usage]
    lines: list[CostLine]  # hour lines and month-level lines


def price_rest(conn: Connection, scope: Scope, tariff: Tariff, month: date, through: date, cut: datetime,
               hi: datetime, start: datetime, end: datetime, zone: ZoneInfo, device_ids: Sequence[int],
               prefix: Prefix) -> Rest:
    """The hours of [cut, hi) from the prefix's tier positions, and the month-level lines, per device; only the
    devices whose key changed are priced (hour_pricing), the others read from this process's entries."""
    base = (month_terms(tariff, month, zone), through, zone.key)
    # Per span asked (the card asks two ends of the same month: each keeps its own entries), and per database:
    # one process may talk to several (tests), where ids and stamps repeat.
    span = (str(conn.engine.url), tariff.id, start, end)
    devices = {d for d, _ in prefix.carried} | set(prefix.today)
    usage: list[Usage] = []
    lines: list[CostLine] = []
    todo: dict[int, tuple] = {}
    with _LOCK:  # an OrderedDict kept in use order: a hit moves to the end, eviction takes the front
        for device in devices:
            state = prefix.carried.get((device, month))  # as text: the same digits, not only the same value
            key = (base, prefix.today.get(device), state and (str(state[0]), str(state[1])))
            entry = _ENTRIES.get((*span, device))
            if entry is not None and entry[0] == key:
                _ENTRIES.move_to_end((*span, device))
                usage += entry[1]
                lines += entry[2]
            else:
                todo[device] = key
    stats["reused"] += len(devices) - len(todo)
    stats["priced"] += len(todo)
    if not todo:
        return Rest(usage, lines)
    carried = {(d, month): prefix.carried[(d, month)] for d in todo if (d, month) in prefix.carried}
    variable: dict[tuple[int, date], Decimal] = {key: amount for key, (_, amount) in carried.items()}
    by_device: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    moved = sorted(d for d in todo if d in prefix.today)  # no day stamp from today on: no hour to price
    if moved:
        whole = not device_ids and len(moved) == len(prefix.today)  # the account whole: no id list to look up
        found = hour_pricing(conn, scope, tariff, cut, hi, cut, min(end, hi), "month", zone,
                             () if whole else moved, carried)
        variable.update(found.variable)
        for u in found.usage:
            by_device[u.device_id][0].append(u)
        for x in found.lines:
            by_device[x.device_id][1].append(x)
    for x in month_level(tariff, {k: v for k, v in variable.items() if k[0] in todo}, zone, start, end):
        by_device[x.device_id][1].append(x)
    with _LOCK:
        for device, key in todo.items():
            found_usage, found_lines = by_device.get(device, ((), ()))
            _ENTRIES[(*span, device)] = (key, tuple(found_usage), tuple(found_lines))
            _ENTRIES.move_to_end((*span, device))
        while len(_ENTRIES) > MAX_ENTRIES:
            _ENTRIES.popitem(last=False)
    for device in todo:
        found_usage, found_lines = by_device.get(device, ((), ()))
        usage += found_usage
        lines += found_lines
    return Rest(usage, lines)

