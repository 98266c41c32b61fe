"""The questions bench/bigdata.py times: every chart callback's data function, and the same from raw readings.

tds_dash is imported inside the functions, so bench/bigdata.py --code can time another checkout.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psutil

from bench.common import percentile

ZONE = ZoneInfo("America/Sao_Paulo")

# The explorer's question (per device and bucket, this period and the previous one) from raw readings.
RAW_SERIES = (
    "SELECT device_id, date_trunc(%(unit)s, ts, %(tz)s) AS bucket, sum(consumption) FROM readings"
    " WHERE metric_id = (SELECT id FROM metrics WHERE name = 'energy_kwh')"
    " AND (%(device)s::bigint IS NULL OR device_id = %(device)s)"
    " AND (%(gateway)s::bigint IS NULL OR gateway_id = %(gateway)s)"
    " AND (%(account)s::bigint IS NULL OR account_id = %(account)s)"
    " AND ts >= %(start)s AND ts < %(end)s GROUP BY 1, 2 ORDER BY 2"
)
LINES = 14  # of each plan printed by --explain
SPANS = (("1 day by hour", 1, "hour"), ("1 month by day", 30, "day"), ("13 months by month", 395, "month"))


class Recorder:
    """Statements a data function sends (SQLAlchemy cursor events), to count them and EXPLAIN them."""

    def __init__(self, engine) -> None:
        import sqlalchemy as sa  # noqa: PLC0415

        self.statements: list[tuple[str, object]] = []
        self.on = False
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.statements.append((statement, parameters))

    def record(self, fn) -> list[tuple[str, object]]:
        self.statements, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        return self.statements


def timed(fn, repeat: int, backend: psutil.Process) -> tuple[float, float, float]:
    """p50 and p95 wall ms, and CPU ms per call (this process + its PostgreSQL backend): the CPU figure
    hardly moves with the machine's load, the wall times do."""
    fn()  # warm: plans and pages cached, as for a page refreshed on an interval
    samples = []
    cpu_before = time.process_time() + sum(backend.cpu_times()[:2])
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() + sum(backend.cpu_times()[:2]) - cpu_before) * 1000 / repeat
    return percentile(samples, 0.5), percentile(samples, 0.95), cpu


def report(url: str, repeat: int, raw_repeat: int, explain: bool) -> None:
    from tds_dash.db import create_db_engine  # noqa: PLC0415

    engine = create_db_engine(url)
    recorder = Recorder(engine)
    now = datetime.now(timezone.utc)
    print("question | statements | shared buffers | p50 / p95 ms | CPU ms per call | raw readings p50 / p95 ms"
          " | raw ÷ rollups (p50)")
    with engine.connect() as conn:
        ids = _pick(conn)
        backend = psutil.Process(conn.connection.dbapi_connection.info.backend_pid)
        for label, fn, raw in _questions(conn, ids, now):
            statements = recorder.record(fn)
            buffers = _buffers(conn, statements)
            p50, p95, cpu = timed(fn, repeat, backend)
            raw_text = "— | —"
            runs = min(raw_repeat, 1) if "13 months" in label else raw_repeat
            if raw is not None and runs > 0:
                w50, w95 = timed_raw(raw, runs)
                raw_text = f"{w50:,.0f} / {w95:,.0f} | {w50 / p50:,.0f}×"
            print(f"{label} | {len(statements)} | {buffers:,} | {p50:.1f} / {p95:.1f} | {cpu:.1f} | {raw_text}",
                  flush=True)
            if explain:
                _explain(conn, label, statements)
    engine.dispose()


def timed_raw(raw, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        raw()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def _pick(conn) -> dict:
    import sqlalchemy as sa  # noqa: PLC0415

    row = conn.execute(sa.text(
        "SELECT d.id AS device, d.gateway_id AS gateway, g.serial, d.account_id AS account FROM devices d"
        " JOIN gateways g ON g.id = d.gateway_id ORDER BY d.id LIMIT 1")).mappings().one()
    return dict(row)


def _questions(conn, ids: dict, now: datetime):
    """(label, data function, raw-readings function or None) for every chart callback."""
    from tds_dash import periods  # noqa: PLC0415
    from tds_dash.queries import devices, events, explorer, overview  # noqa: PLC0415
    from tds_dash.queries.consumption import Selection  # noqa: PLC0415
    from tds_dash.queries.scope import ALL_ACCOUNTS, Scope  # noqa: PLC0415

    account_scope = Scope(account_ids=(ids["account"],))
    yield "overview, whole fleet", lambda: overview.fetch_overview(conn, ALL_ACCOUNTS, now, ZONE), None
    yield "overview, one account", lambda: overview.fetch_overview(conn, account_scope, now, ZONE), None
    yield ("overview, one gateway",
           lambda: overview.fetch_overview(conn, account_scope, now, ZONE, gateway_id=ids["gateway"]), None)
    today = periods.local_today(now, ZONE)
    scopes = (("whole fleet", Selection(), {}), ("one account", Selection(account_ids=(ids["account"],)),
                                                  {"account": ids["account"]}),
              ("one gateway", Selection(gateway_ids=(ids["gateway"],)), {"gateway": ids["gateway"]}),
              ("one device", Selection(device_ids=(ids["device"],)), {"device": ids["device"]}))
    for span, days, unit in SPANS:
        period = periods.Period(today - timedelta(days=days - 1), today, ZONE)
        for scope_label, selection, raw_filter in scopes:
            for compare in (True, False):
                def data(selection=selection, period=period, compare=compare):
                    return explorer.fetch_explorer(conn, ALL_ACCOUNTS, selection, "energy_kwh", period, None,
                                                   compare, now)
                # Raw answers for the fleet and one device only: a gateway or account has no raw index of
                # its own, so each would be another scan of every reading (as slow as the fleet's).
                wanted = compare and scope_label in ("whole fleet", "one device")
                raw = _raw(conn, unit, period, raw_filter, compare) if wanted else None
                yield f"explorer {span}, {scope_label}, compare {'on' if compare else 'off'}", data, raw
                if scope_label == "whole fleet" and compare and (clear := _cache_clear()) is not None:
                    yield (f"explorer {span}, whole fleet, compare on, closed part not kept (a late reading)",
                           lambda data=data, clear=clear: (clear(), data()), None)
        yield from _figures(conn, span, period, now)
    for label, days in (("1 day (raw readings)", 1), ("30 days", 30), ("13 months", 395)):
        period = periods.Period(today - timedelta(days=days - 1), today, ZONE)
        yield (f"device page, {label}",
               lambda period=period: devices.fetch_device_charts(conn, ALL_ACCOUNTS, ids["device"], period), None)
    yield "gateway page", lambda: events.fetch_gateway_page(conn, ALL_ACCOUNTS, ids["serial"], now), None


def _cache_clear():
    """explorer_cache.clear where the checkout has it (bench/bigdata.py --code may time one without)."""
    try:
        from tds_dash.queries import explorer_cache  # noqa: PLC0415
    except ImportError:
        return None
    return explorer_cache.clear


def _figures(conn, span: str, period, now: datetime):
    """The chart callback itself (store → figure), stacked bars and total line, whole fleet with compare."""
    from tds_dash.consumption.explorer import figures, model  # noqa: PLC0415
    from tds_dash.queries import explorer  # noqa: PLC0415
    from tds_dash.queries.consumption import Selection  # noqa: PLC0415
    from tds_dash.queries.scope import ALL_ACCOUNTS  # noqa: PLC0415

    store = model.to_store(explorer.fetch_explorer(conn, ALL_ACCOUNTS, Selection(), "energy_kwh", period, None,
                                                   True, now), now)
    for mode, name in (("bars", "stacked"), ("line", "total line")):
        yield (f"explorer {span}, figure from the store ({name})",
               lambda mode=mode: figures.explorer_figure(store, mode, ZONE, "pt-BR"), None)


def _raw(conn, unit: str, period, raw_filter: dict, compare: bool):
    from tds_dash import periods  # noqa: PLC0415

    previous = periods.previous_period(period)
    base = {"unit": unit, "tz": ZONE.key, "device": None, "gateway": None, "account": None, **raw_filter}

    def run():
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute(RAW_SERIES, {**base, "start": period.start, "end": period.end})
        cursor.fetchall()
        if compare:
            cursor.execute(RAW_SERIES, {**base, "start": previous.start, "end": previous.end})
            cursor.fetchall()
        cursor.close()
    return run


def _buffers(conn, statements) -> int:
    """Shared buffers (hit + read) the statements touch: the work a chart asks, whatever the load."""
    cursor, total = conn.connection.dbapi_connection.cursor(), 0
    for statement, parameters in statements:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0][0]
        total += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
        total += plan.get("Planning", {}).get("Shared Hit Blocks", 0)
    cursor.close()
    return total


def _explain(conn, label: str, statements) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    for statement, parameters in statements:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cursor.fetchall()]
        print(f"  -- {label}: {' '.join(statement.split())[:160]}")
        for line in plan[:LINES] + [line for line in plan[LINES:] if line.strip().startswith(("Planning", "Execution"))]:
            print("     " + line)
    cursor.close()
