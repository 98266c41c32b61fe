"""Consumption numbers: counter semantics, corrections, late and out-of-order data, local-time buckets.

Readings go through the real ingest path below MQTT: payload.parse_message, then BatchStore.write on a
real PostgreSQL (the subscriber adds only transport). Totals are compared with a plain computation here.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ingest.batch import BatchStore
from ingest.inbox import Envelope
from ingest.payload import parse_message
from ingest.simulator import build_fleet, provision_fleet
from tds_dash.migrate import ensure_rollup_timezone
from tests.helpers import telemetry

UTC = timezone.utc
SAO_PAULO = "America/Sao_Paulo"
NEW_YORK = "America/New_York"
ACCOUNT, SERIAL = "acme", "GW-0101"
TOPIC = f"tds/{ACCOUNT}/{SERIAL}/telemetry"
BASE = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
_codes = itertools.count()


@pytest.fixture
def gateway(database):
    provision_fleet(database.engine(), build_fleet([ACCOUNT], 1, 1))
    return database


def write(database, tz: str, batches: list[list[tuple[datetime, float]]], device: str,
          metric: str = "energy_kwh") -> list[str]:
    """Each batch is one message and one commit; returns the rejection reasons recorded."""
    store = BatchStore(tz)
    reasons = []
    with psycopg.connect(database.dsn) as conn:
        from ingest import statements as store_sql
        store_sql.prepare_session(conn)
        for batch in batches:
            readings = [{"device": device, "metric": metric, "value": value, "ts": ts.isoformat()} for ts, value in batch]
            payload = telemetry(readings, at=max(ts for ts, _ in batch))
            message = parse_message(TOPIC, payload, now=datetime.now(UTC))
            result = store.write(conn, [Envelope(TOPIC, payload, datetime.now(UTC), message=message)])
            conn.commit()
            reasons += [row.reason for row in result.rejected]
    return reasons


def prepare_device(database, device: str, rollover: float | None = None) -> None:
    """Register the device and its energy counter settings before its first reading, as an operator would."""
    database.execute("INSERT INTO devices (gateway_id, account_id, code, name)"
                     " SELECT id, account_id, %s, %s FROM gateways WHERE serial = %s", (device, device, SERIAL))
    database.execute("INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit, rollover_value)"
                     " SELECT d.id, m.id, 'counter', 'kWh', %s FROM devices d, metrics m"
                     " WHERE d.code = %s AND m.name = 'energy_kwh'", (rollover, device))


def reference(readings: list[tuple[datetime, float]], rollover: float | None = None) -> list[tuple[datetime, float, str | None]]:
    """The documented counter rules, applied to the readings in time order."""
    ordered = sorted(dict(readings).items())
    out, prev = [], None
    for i, (ts, value) in enumerate(ordered):
        nxt = ordered[i + 1][1] if i + 1 < len(ordered) else None
        if prev is None or value >= prev:
            out.append((ts, 0.0 if prev is None else value - prev, None))
            prev = value
        elif nxt is None:
            out.append((ts, 0.0, "provisional"))
        elif nxt >= prev:
            out.append((ts, 0.0, "glitch"))
        elif rollover is not None and rollover > prev:
            out.append((ts, rollover - prev + value, "rollover"))
            prev = value
        else:
            out.append((ts, value, "reset"))
            prev = value
    return out


def bucketed(per_reading, tz: str, unit: str) -> dict[datetime, float]:
    zone, totals = ZoneInfo(tz), defaultdict(float)
    for ts, consumption, _ in per_reading:
        local = ts.astimezone(zone)
        start = {"hour": local.replace(minute=0, second=0, microsecond=0),
                 "day": local.replace(hour=0, minute=0, second=0, microsecond=0),
                 "month": local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)}[unit]
        # Rebuild through UTC so an hour repeated at a DST change keeps its own offset.
        totals[datetime(start.year, start.month, start.day, start.hour, tzinfo=zone, fold=local.fold)
               .astimezone(UTC)] += consumption
    return dict(totals)


def stored(database, device: str, unit: str) -> dict[datetime, float]:
    table = {"hour": "consumption_hourly", "day": "consumption_daily", "month": "consumption_monthly"}[unit]
    rows = database.query(f"SELECT c.bucket, c.consumption FROM {table} c JOIN devices d ON d.id = c.device_id"
                          " WHERE d.code = %s ORDER BY 1", (device,))
    return {bucket.astimezone(UTC): value for bucket, value in rows}


def assert_same_totals(database, device: str, readings, tz: str, rollover: float | None = None) -> None:
    expected = reference(readings, rollover)
    for unit in ("hour", "day", "month"):
        want, got = bucketed(expected, tz, unit), stored(database, device, unit)
        assert got.keys() == want.keys(), unit
        for bucket, value in want.items():
            assert math.isclose(got[bucket], value, rel_tol=1e-9, abs_tol=1e-6), (unit, bucket, got[bucket], value)


def series(*values: float, step_minutes: int = 20, start: datetime = BASE) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=step_minutes * i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize("name, values, rollover, qualities, total", [
    ("plain increases", (100, 101, 103.5), None, [None, None, None], 3.5),
    ("glitch dip is ignored", (100, 101, 0.1, 102), None, [None, None, "glitch", None], 2),
    ("reset counts from zero", (100, 101, 2, 5), None, [None, None, "reset", None], 1 + 2 + 3),
    ("rollover wraps", (99_990, 99_999, 3, 8), 99_999.9, [None, None, "rollover", None], 9 + 3.9 + 5),
    ("a drop with nothing after it is provisional", (100, 101, 50), None, [None, None, "provisional"], 1),
    ("two low readings after a drop is a reset", (100, 50, 50, 60), None, [None, "reset", None, None], 50 + 10),
])
def test_con001_counter_rules(gateway, name, values, rollover, qualities, total):
    device = f"T{next(_codes)}"
    readings = series(*values)
    prepare_device(gateway, device, rollover)
    write(gateway, SAO_PAULO, [[r] for r in readings], device)
    rows = gateway.query("SELECT r.quality, r.consumption FROM readings r JOIN devices d ON d.id = r.device_id"
                         " WHERE d.code = %s ORDER BY r.ts", (device,))
    assert [q for q, _ in rows] == qualities
    assert math.isclose(sum(c for _, c in rows), total, rel_tol=1e-9)
    assert_same_totals(gateway, device, readings, SAO_PAULO, rollover)
    corrections = gateway.query("SELECT mc.kind FROM meter_corrections mc JOIN devices d ON d.id = mc.device_id"
                                " WHERE d.code = %s ORDER BY mc.ts", (device,))
    assert [k for (k,) in corrections] == [q for q in qualities if q]


def test_con002_provisional_drop_resolves_when_the_next_reading_arrives(gateway):
    device = f"T{next(_codes)}"
    readings = series(100, 101, 50, 102)
    write(gateway, SAO_PAULO, [[r] for r in readings[:3]], device)
    assert gateway.scalar("SELECT kind FROM meter_corrections") == "provisional"
    write(gateway, SAO_PAULO, [readings[3:]], device)
    assert gateway.scalar("SELECT kind FROM meter_corrections") == "glitch"
    assert_same_totals(gateway, device, readings, SAO_PAULO)


def test_con003_delta_and_gauge_meters(gateway):
    write(gateway, SAO_PAULO, [series(1.5, 2.0, 0.5)], "DLT-1", metric="energy_delta_kwh")
    assert gateway.scalar("SELECT sum(consumption) FROM consumption_daily c JOIN devices d ON d.id = c.device_id"
                          " WHERE d.code = 'DLT-1'") == 4.0
    write(gateway, SAO_PAULO, [series(21.5, 19.0, 23.0)], "TMP-1", metric="temperature_c")
    row = gateway.query("SELECT consumption, min_value, max_value, sum_value / count FROM consumption_daily c"
                        " JOIN devices d ON d.id = c.device_id WHERE d.code = 'TMP-1'")[0]
    assert row[0] is None and row[1:3] == (19.0, 23.0) and math.isclose(row[3], 21.1666666, rel_tol=1e-6)


def test_con004_too_late_is_rejected_but_an_in_order_backlog_is_accepted(gateway):
    device = f"T{next(_codes)}"
    write(gateway, SAO_PAULO, [series(100, 101)], device)
    reasons = write(gateway, SAO_PAULO, [[(BASE - timedelta(days=8), 90)]], device)
    assert reasons == ["too_late"]
    backlog = series(*(102 + i for i in range(10)), step_minutes=24 * 60, start=BASE + timedelta(hours=1))
    assert write(gateway, SAO_PAULO, [backlog[:5], backlog[5:]], device) == []
    assert_same_totals(gateway, device, series(100, 101) + backlog, SAO_PAULO)


@pytest.mark.parametrize("tz, local_instants, october_total", [
    # 23:30 on the last day of a month belongs to that month; 00:00 to the day that starts then.
    (SAO_PAULO, ["2026-10-31T22:00", "2026-10-31T23:30", "2026-11-01T00:00", "2026-11-01T00:30"], 10),
    # New York left DST on 2025-11-02 at 02:00: the 01:xx hour happened twice.
    (NEW_YORK, ["2025-10-31T22:00", "2025-10-31T23:30", "2025-11-02T00:30", "2025-11-02T01:30-04:00",
                "2025-11-02T01:30-05:00", "2025-11-02T03:00", "2025-11-30T23:30", "2025-12-01T00:00"], 10),
])
def test_con005_month_and_dst_boundaries(database, tz, local_instants, october_total):
    ensure_rollup_timezone(database.dsn, tz)
    provision_fleet(database.engine(), build_fleet([ACCOUNT], 1, 1))
    zone = ZoneInfo(tz)
    instants = [datetime.fromisoformat(text) if text.count("-") > 2 and "T" in text and text[-6] in "+-"
                else datetime.fromisoformat(text).replace(tzinfo=zone) for text in local_instants]
    readings = [(at.astimezone(UTC), 100 + 10 * i) for i, at in enumerate(instants)]
    write(database, tz, [[r] for r in readings], "DST-1")
    assert_same_totals(database, "DST-1", readings, tz)
    months = stored(database, "DST-1", "month")
    october = datetime(instants[0].year, 10, 1, tzinfo=zone).astimezone(UTC)
    assert months[october] == october_total  # the reading at 23:30 on 31 October counts in October
    if tz == NEW_YORK:
        hours = stored(database, "DST-1", "hour")
        repeated = [b for b in hours if b.astimezone(zone).hour == 1 and b.astimezone(zone).day == 2]
        assert len(repeated) == 2  # both 01:00 hours of the change day are their own buckets


readings_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3 * 24 * 60),  # minute offset within 3 days
              st.sampled_from(["up", "up", "up", "glitch", "reset", "wrap", "flat"]),
              st.floats(min_value=0, max_value=50, allow_nan=False)),
    min_size=1, max_size=40, unique_by=lambda t: t[0])


@hypothesis_settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=readings_strategy, seed=st.integers(0, 2**32 - 1), duplicates=st.integers(0, 3),
       rollover=st.sampled_from([None, 5000.0]))
def test_con006_any_arrival_order_gives_the_reference_totals(gateway, steps, seed, duplicates, rollover):
    device = f"P{next(_codes)}"
    level, readings = 1000.0, []
    for minute, move, amount in sorted(steps):
        if move == "up":
            level = min(level + amount, 4999.0)
        elif move in ("reset", "wrap"):  # the register restarts (or wraps when a rollover is set)
            level = amount
        # A glitch is one dipped reading; the register itself keeps its level.
        shown = max(0.0, level - 1 - amount) if move == "glitch" else level
        readings.append((BASE + timedelta(minutes=minute), round(shown, 3)))
    rng = random.Random(seed)
    arrivals = readings + rng.sample(readings, min(duplicates, len(readings)))  # redeliveries: same ts, same value
    rng.shuffle(arrivals)
    cut = sorted(rng.sample(range(1, len(arrivals)), min(len(arrivals) - 1, rng.randint(0, 5))))
    batches = [arrivals[a:b] for a, b in zip([0] + cut, cut + [len(arrivals)])]
    prepare_device(gateway, device, rollover)
    assert write(gateway, SAO_PAULO, batches, device) == []
    assert_same_totals(gateway, device, readings, SAO_PAULO, rollover)
