"""The explorer's and the device page's reads against a real PostgreSQL, checked against direct sums.

Readings go in through the real ingest store (ingest.batch.BatchStore.write, as the simulator's backfill
does); each expectation is computed here from the raw readings with Python's zoneinfo.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash import periods
from tds_dash.db import session_scope
from tds_dash.queries import consumption, devices, explorer
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.explorer_data import FLEET, ZONE_NAME, write_history

ZONE = ZoneInfo(ZONE_NAME)
UTC = timezone.utc


@pytest.fixture
def loaded(database):
    simulator.provision_fleet(database.engine(), FLEET)
    return database


def energy_id(database) -> int:
    return database.scalar("SELECT id FROM metrics WHERE name = 'energy_kwh'")


def local_key(ts: datetime, granularity: str):
    """The bucket of a reading, computed independently of the app: a local hour, date or (year, month)."""
    local = ts.astimezone(ZONE)
    if granularity == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)  # Sao Paulo offsets are whole hours
    if granularity == "day":
        return local.date()
    return local.year, local.month


def bucket_key(bucket: datetime, granularity: str):
    local = bucket.astimezone(ZONE)
    return {"hour": bucket, "day": local.date(), "month": (local.year, local.month)}[granularity]


def direct_sums(database, start: datetime, end: datetime, granularity: str) -> dict:
    """{(device_id, bucket key): SUM(consumption)} straight from the raw readings."""
    rows = database.query("SELECT device_id, ts, consumption FROM readings WHERE metric_id = %s"
                          " AND ts >= %s AND ts < %s", (energy_id(database), start, end))
    sums: dict = defaultdict(float)
    for device_id, ts, value in rows:
        sums[(device_id, local_key(ts, granularity))] += value or 0.0
    return sums


def fetch(database, period: periods.Period, granularity: str, compare: bool = False, now: datetime | None = None,
          selection: Selection = Selection(), scope: Scope = ALL_ACCOUNTS) -> explorer.ExplorerData:
    with session_scope(database.engine()) as conn:
        return explorer.fetch_explorer(conn, scope, selection, "energy_kwh", period, granularity, compare,
                                       now or datetime.now(UTC))


def assert_matches(data: explorer.ExplorerData, expected: dict) -> None:
    got = {(int(r.device_id), bucket_key(r.bucket.to_pydatetime(), data.granularity)): r.consumption
           for r in data.by_device.itertuples()}
    assert set(got) == {key for key, value in expected.items() if value or key in got}
    for key, value in expected.items():
        assert got.get(key, 0.0) == pytest.approx(value, abs=1e-6), key
    per_device: dict = defaultdict(float)
    for (device_id, _), value in expected.items():
        per_device[device_id] += value
    totals = dict(zip(data.totals["device_id"], data.totals["consumption"]))
    assert totals == pytest.approx(dict(per_device))


@pytest.mark.parametrize("first, last, granularity", [
    (date(2026, 2, 27), date(2026, 2, 28), "hour"),   # two days by hour, up to a month end
    (date(2026, 2, 20), date(2026, 3, 6), "day"),     # across a month boundary by day
    (date(2026, 1, 10), date(2026, 3, 15), "month"),  # partial months
    (date(2026, 2, 28), date(2026, 3, 1), "auto"),    # auto: two days → hour
])
def test_exp001_bucket_and_device_totals_equal_direct_sums(loaded, first, last, granularity):
    # Readings every 50 min, plus ones exactly at local midnight and at 23:30 on month ends.
    extra = [datetime(2026, 3, 1, tzinfo=ZONE).astimezone(UTC),
             datetime(2026, 2, 28, 23, 30, tzinfo=ZONE).astimezone(UTC)]
    write_history(loaded, datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), timedelta(minutes=50),
                  extra)
    period = periods.Period(first, last, ZONE)
    data = fetch(loaded, period, granularity)
    assert data.granularity == periods.resolve_granularity(granularity, period.days)[0]
    assert_matches(data, direct_sums(loaded, period.start, period.end, data.granularity))


def test_exp002_dst_and_month_boundaries_in_sao_paulo(loaded):
    """2018-11-04 had no local midnight (clocks went 00:00 → 01:00); on 2019-02-16 the hour 23:00 came twice."""
    extra = [datetime(2018, 10, 31, 23, 30, tzinfo=ZONE).astimezone(UTC),  # last day of October
             datetime(2018, 11, 4, 3, 0, tzinfo=UTC),                        # 01:00 -02, the day's first instant
             datetime(2019, 2, 17, 1, 30, tzinfo=UTC), datetime(2019, 2, 17, 2, 30, tzinfo=UTC)]  # 23:30 twice
    write_history(loaded, datetime(2018, 10, 30, tzinfo=UTC), datetime(2018, 11, 6, tzinfo=UTC), timedelta(hours=1),
                  extra[:2])
    write_history(loaded, datetime(2019, 2, 15, tzinfo=UTC), datetime(2019, 2, 19, tzinfo=UTC), timedelta(hours=1),
                  extra[2:])
    for first, last, granularity in [(date(2018, 10, 31), date(2018, 11, 5), "day"),
                                     (date(2018, 10, 1), date(2018, 11, 30), "month"),
                                     (date(2018, 11, 3), date(2018, 11, 4), "hour"),
                                     (date(2019, 2, 16), date(2019, 2, 17), "hour")]:
        period = periods.Period(first, last, ZONE)
        data = fetch(loaded, period, granularity)
        assert_matches(data, direct_sums(loaded, period.start, period.end, granularity))
    # The DST days: 23 and 25 local hours, and every bucket the app generates is one the database cut.
    hours = periods.bucket_starts(periods.Period(date(2018, 11, 4), date(2018, 11, 4), ZONE), "hour")
    assert len(hours) == 23
    assert len(periods.bucket_starts(periods.Period(date(2019, 2, 16), date(2019, 2, 16), ZONE), "hour")) == 25
    stored = {row[0] for row in loaded.query("SELECT DISTINCT bucket FROM consumption_daily")}
    generated = set(periods.bucket_starts(periods.Period(date(2018, 10, 29), date(2019, 2, 18), ZONE), "day"))
    assert stored <= generated


def test_exp003_previous_period_compares_the_same_elapsed_time(loaded):
    write_history(loaded, datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), timedelta(minutes=50))
    now = datetime(2026, 3, 17, 14, 25, tzinfo=ZONE)  # "this month", still running
    period = periods.Period(date(2026, 3, 1), date(2026, 3, 17), ZONE)
    data = fetch(loaded, period, "day", compare=True, now=now)
    comparison = data.comparison
    assert (comparison.period.first_day, comparison.period.last_day) == (date(2026, 2, 1), date(2026, 2, 17))
    cut = datetime(2026, 3, 17, 14, tzinfo=ZONE)
    assert comparison.cut == cut
    direct = lambda lo, hi: sum(direct_sums(loaded, lo, hi, "day").values())  # noqa: E731
    assert comparison.current_total == pytest.approx(direct(period.start, cut))
    assert comparison.previous_total == pytest.approx(direct(datetime(2026, 2, 1, tzinfo=ZONE),
                                                             datetime(2026, 2, 17, 14, tzinfo=ZONE)))
    # The overlay: the whole previous period by day.
    expected = defaultdict(float)
    for (_, key), value in direct_sums(loaded, comparison.period.start, comparison.period.end, "day").items():
        expected[key] += value
    got = {r.bucket.to_pydatetime().astimezone(ZONE).date(): r.consumption for r in comparison.series.itertuples()}
    assert got == pytest.approx(dict(expected))

    # A finished period (last month) against the whole month before it.
    last_month = periods.Period(date(2026, 2, 1), date(2026, 2, 28), ZONE)
    data = fetch(loaded, last_month, "auto", compare=True, now=now)
    assert data.granularity == "day"
    assert data.comparison.current_total == pytest.approx(direct(last_month.start, last_month.end))
    assert data.comparison.previous_total == pytest.approx(direct(datetime(2026, 1, 1, tzinfo=ZONE),
                                                                  datetime(2026, 2, 1, tzinfo=ZONE)))


def test_exp004_selection_scope_and_others(loaded, monkeypatch):
    write_history(loaded, datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC), timedelta(hours=2))
    period = periods.Period(date(2026, 3, 1), date(2026, 3, 3), ZONE)
    acme, globex = (loaded.scalar("SELECT id FROM accounts WHERE slug = %s", (slug,)) for slug in ("acme", "globex"))
    globex_gateway = loaded.scalar("SELECT id FROM gateways WHERE serial = 'GW-0201'")
    med_001 = loaded.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                            " WHERE g.serial = 'GW-0101' AND d.code = 'MED-001'")
    everything = fetch(loaded, period, "day")
    assert len(everything.totals) == 4  # MED-001 and MED-002 of each gateway; HID-003 meters water
    assert set(everything.totals["gateway"]) == {"GW-0101", "GW-0201"}
    assert set(fetch(loaded, period, "day", selection=Selection((acme,))).totals["account"]) == {"acme"}
    by_gateway = fetch(loaded, period, "day", selection=Selection((), (globex_gateway,)))
    assert set(by_gateway.totals["gateway"]) == {"GW-0201"}
    only = fetch(loaded, period, "day", selection=Selection((), (), (med_001,)))
    assert list(only.totals["device_id"]) == [med_001]
    # Intersection: a device outside the chosen account yields nothing; so does a scope without that account.
    assert fetch(loaded, period, "day", selection=Selection((globex,), (), (med_001,))).totals.empty
    assert fetch(loaded, period, "day", scope=Scope((globex,)), selection=Selection((), (), (med_001,))).totals.empty
    # Above TOP_DEVICES the rest is summed per bucket as one "others" series: the grand total is unchanged.
    monkeypatch.setattr(explorer, "TOP_DEVICES", 2)
    top = fetch(loaded, period, "day")
    assert top.shown == [int(v) for v in everything.totals["device_id"][:2]]
    assert top.by_device["device_id"].isna().any()
    assert top.by_device["consumption"].sum() == pytest.approx(everything.by_device["consumption"].sum())


def test_exp005_total_between_reads_coarse_rollups_for_the_same_number(loaded):
    write_history(loaded, datetime(2025, 12, 28, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), timedelta(hours=3))
    start, end = datetime(2025, 12, 30, 7, tzinfo=ZONE), datetime(2026, 3, 2, 17, 40, tzinfo=ZONE)
    levels = [level for level, _, _ in periods.cover(start, periods.floor_hour(end, ZONE), ZONE)]
    assert levels == ["hour", "day", "month", "day", "hour"]
    with session_scope(loaded.engine()) as conn:
        total = consumption.total_between(conn, ALL_ACCOUNTS, Selection(), energy_id(loaded), start, end, ZONE)
    expected = sum(direct_sums(loaded, start, datetime(2026, 3, 2, 17, tzinfo=ZONE), "day").values())
    assert total == pytest.approx(expected)


def _grid_points_in_last_day(now: datetime) -> int:
    """History instants (every 30 min, up to a minute ago) in the last 24 h, plus the extra one 10 s ago:
    49 except in the minute after a :00 or :30, when the newest grid point is not written yet."""
    day = simulator.backfill_instants(now - timedelta(days=1), now - timedelta(minutes=1), timedelta(minutes=30))
    return len(list(day)) + 1


def test_exp006_device_reads_status_readings_series_and_corrections(loaded):
    now = datetime.now(UTC).replace(microsecond=0)
    write_history(loaded, now - timedelta(days=3), now - timedelta(minutes=1), timedelta(minutes=30),
                  [now - timedelta(seconds=10)])
    med = loaded.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                        " WHERE g.serial = 'GW-0101' AND d.code = 'MED-001'")
    acme = loaded.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    globex = loaded.scalar("SELECT id FROM accounts WHERE slug = 'globex'")
    energy = energy_id(loaded)
    loaded.execute("INSERT INTO meter_corrections (device_id, metric_id, ts, kind, previous_value, value, consumption)"
                   " VALUES (%s, %s, %s, 'reset', 900, 3, 3)", (med, energy, now - timedelta(hours=5)))
    with session_scope(loaded.engine()) as conn:
        assert devices.find_device(conn, Scope((globex,)), med) is None
        assert devices.find_device(conn, ALL_ACCOUNTS, 10**9) is None
        device = devices.find_device(conn, Scope((acme,)), med)
        latest = devices.latest_values(conn, med)
        status = devices.device_status(device, latest, now)
        raw = devices.readings(conn, ALL_ACCOUNTS, [med], now - timedelta(days=1), now, limit=10_000)
        none = devices.readings(conn, Scope((globex,)), [med], now - timedelta(days=1), now, limit=10_000)
        capped = devices.readings(conn, ALL_ACCOUNTS, [med], now - timedelta(days=1), now, limit=7)
        hourly = consumption.device_series(conn, ALL_ACCOUNTS, [med], "hour", now - timedelta(days=2), now, ZONE,
                                           energy)
        fixes = devices.corrections(conn, ALL_ACCOUNTS, med, now - timedelta(days=1), now)
        options = devices.device_options(conn, ALL_ACCOUNTS, (acme,))
    assert device["gateway"] == "GW-0101" and device["code"] == "MED-001"
    assert set(latest["metric"]) == {"energy_kwh", "power_kw"}
    assert status["online"] and status["last_seen"] == max(latest["ts"]).to_pydatetime()
    assert not devices.device_status(device, latest, now + timedelta(seconds=301))["online"]
    assert set(raw["metric"]) == {"energy_kwh", "power_kw"}
    assert len(raw) == loaded.scalar("SELECT count(*) FROM readings WHERE device_id = %s AND ts >= %s AND ts < %s",
                                     (med, now - timedelta(days=1), now)) == 2 * _grid_points_in_last_day(now)
    assert none.empty and len(capped) == 7
    direct = loaded.query("SELECT sum(value), count(*), min(value), max(value) FROM readings"
                          " WHERE device_id = %s AND metric_id = %s AND ts >= %s AND ts < %s",
                          (med, energy, hourly["bucket"].iloc[5].to_pydatetime(),
                           hourly["bucket"].iloc[6].to_pydatetime()))[0]
    row = hourly.iloc[5]
    assert (row["avg"], row["count"], row["min"], row["max"]) == pytest.approx(
        (direct[0] / direct[1], direct[1], direct[2], direct[3]))
    assert list(fixes["kind"]) == ["reset"] and fixes["value"].iloc[0] == 3
    assert {o["gateway"] for o in options} == {"GW-0101"} and len(options) == 3
    assert math.isclose(hourly["consumption"].sum(),
                        loaded.scalar("SELECT sum(consumption) FROM readings WHERE device_id = %s AND metric_id = %s"
                                      " AND ts >= %s AND ts < %s", (med, energy, hourly['bucket'].iloc[0]
                                                                    .to_pydatetime(), now)))


@pytest.mark.parametrize("first, last, subtracted", [
    (date(2026, 1, 8), date(2026, 3, 31), 1),   # January: monthly row minus 1-7 Jan (whose readings are all)
    (date(2026, 2, 5), date(2026, 2, 25), 2),   # inside one month: February minus 1-4 and 26-28
    (date(2026, 1, 25), date(2026, 2, 10), 0),  # few days kept: summed from the daily rows
])
def test_exp007_partial_months_read_as_month_minus_days_left_out(loaded, first, last, subtracted):
    """A partial month read as its monthly row minus the daily rows of the days left out gives the same sums as
    its days kept; a device-month whose readings all lie in the left-out days is a gap, not a zero bar."""
    write_history(loaded, datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC), timedelta(hours=2))
    write_history(loaded, datetime(2026, 2, 1, 3, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), timedelta(hours=2))
    period = periods.Period(first, last, ZONE)
    pieces = consumption._month_pieces(period.start, period.end, ZONE, datetime.now(UTC))
    assert sum(pieces[f"minus{i}_lo"] < pieces[f"minus{i}_hi"] for i in (1, 2)) == subtracted
    data = fetch(loaded, period, "month")
    expected = direct_sums(loaded, period.start, period.end, "month")
    assert_matches(data, expected)
    assert (2026, 1) not in {bucket_key(b.to_pydatetime(), "month") for b in data.by_device["bucket"]}
    with session_scope(loaded.engine()) as conn:
        totals = consumption.total_series(conn, ALL_ACCOUNTS, Selection(device_ids=tuple(data.shown)), energy_id(loaded),
                                          "month", period.start, period.end, ZONE)
    assert sum(totals["consumption"]) == pytest.approx(sum(expected.values()))


def test_exp008_running_month_is_the_month_so_far(loaded):
    """The running month is read as its monthly row minus the days after today (none yet): the same sums."""
    now = datetime.now(UTC)
    write_history(loaded, now - timedelta(days=45), now, timedelta(hours=3))
    today = periods.local_today(now, ZONE)
    period = periods.Period(periods.add_months(today, -1).replace(day=3), today, ZONE)
    pieces = consumption._month_pieces(period.start, period.end, ZONE, now)
    assert pieces["minus2_lo"] == period.end and pieces["mon_hi"] > period.end  # the running month: subtracted
    assert_matches(fetch(loaded, period, "month"), direct_sums(loaded, period.start, period.end, "month"))


def test_exp009_latest_readings_one_line_per_device_newest_first_picked_in_order(loaded):
    """The overview's latest block: each device's newest energy reading, devices by gateway and code, the
    first `limit` of the scope's devices that have the metric; another account's devices never appear."""
    from tds_dash.queries import overview  # noqa: PLC0415

    now = datetime.now(UTC).replace(microsecond=0)
    write_history(loaded, now - timedelta(hours=6), now, timedelta(minutes=30))
    newest = dict(loaded.query("SELECT d.code || '@' || g.serial, max(r.ts) FROM readings r"
                               " JOIN devices d ON d.id = r.device_id JOIN gateways g ON g.id = d.gateway_id"
                               " WHERE r.metric_id = %s GROUP BY 1", (energy_id(loaded),)))
    acme = loaded.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    with session_scope(loaded.engine()) as conn:
        everything = overview.fetch_latest_readings(conn, ALL_ACCOUNTS, ZONE)
        first_two = overview.fetch_latest_readings(conn, ALL_ACCOUNTS, ZONE, limit=2)
        acme_only = overview.fetch_latest_readings(conn, Scope((acme,)), ZONE)
    keys = [f"{row.device}@{row.gateway}" for row in everything.itertuples()]
    assert keys == sorted(newest, key=lambda key: (key.split("@")[1], key.split("@")[0]))
    assert {k: t.to_pydatetime() for k, t in zip(keys, everything["ts"])} == newest
    assert list(first_two["device"]) == list(everything["device"][:2])
    assert sorted(acme_only["device"]) == sorted(k.split("@")[0] for k in newest if k.endswith("@GW-0101"))
    assert set(acme_only["gateway"]) == {"GW-0101"}
