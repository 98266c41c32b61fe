"""The running month's prefix cache (tds_dash/tariffs/month_prefix.py, sql/095) against a real PostgreSQL: the
running month priced from its cached days before today plus today's hours equals grouped pricing of the whole
month and the hour-by-hour reference to the centavo (Decimal), its days add up to it; a reading for an earlier
day, a meter correction, a new day starting and a tariff version from today never serve an old amount; the
explorer's per-device sums (summed in SQL) equal the per-device costs."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.tariffs import costs, service
from tds_dash.tariffs.engine import ZERO, exact
from tests.hourly_pricing import engine_priced
from tests.tariff_reference import VERSIONS
from tests.test_cost_cache import fleet_with, readings, same
from tests.test_tariffs_db import ADMIN, METRIC, ZONE, Fleet, at, version_input

NOW = at(date(2026, 12, 17), 14) + timedelta(minutes=30)  # Oct, Nov over; December running, 16 days cached
TOMORROW = at(date(2026, 12, 18), 10)
EARLIER = at(date(2026, 10, 1), 5)  # the 1st of a month: nothing over, no prefix, everything priced live
SPAN = (at(date(2026, 10, 1)), at(date(2027, 2, 1)))  # January after the running month: priced live
DECEMBER = (at(date(2026, 12, 1)), at(date(2027, 1, 1)))


def breakdown(fleet: Fleet, now: datetime, span=SPAN, granularity: str = "month", scope=ALL_ACCOUNTS, **kwargs):
    with session_scope(fleet.engine) as conn:
        return service.cost_breakdown(conn, scope, fleet.acme, METRIC, *span, granularity, ZONE, now=now, **kwargs)


def per_device(fleet: Fleet, now: datetime, device_ids=()):
    with session_scope(fleet.engine) as conn:
        return service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, *SPAN, "month", ZONE,
                                             device_ids, now=now)


def reference(fleet: Fleet):
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        usage, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, *SPAN, ZONE, ())
    return costs.group_buckets(usage, lines, "month", ZONE)


def prefixes(fleet: Fleet) -> dict:
    return {d: (through, last, total) for d, through, last, total in fleet.database.query(
        "SELECT device_id, through, day_last, total FROM cost_month_prefix WHERE month = %s", (DECEMBER[0],))}


def december(result) -> object:
    return next(b for b in result.buckets if b.bucket == DECEMBER[0])


def agrees_with_live(fleet: Fleet, now: datetime) -> None:
    """The prefix path (cold or warm) equals live grouped pricing, the hour-by-hour reference, and its days."""
    got, live = breakdown(fleet, now), breakdown(fleet, EARLIER)
    assert same(got.buckets, live.buckets) and got.buckets == reference(fleet)
    assert str(got.total) == str(live.total) and got.unpriced_quantity == live.unpriced_quantity
    days = breakdown(fleet, now, DECEMBER, "day")
    with exact():
        assert sum(b.cost for b in days.buckets) == december(got).cost > 0
    assert per_device(fleet, now) == per_device(fleet, EARLIER)


@pytest.mark.parametrize("seed", [14, 23])
def test_tcp001_running_month_from_its_prefix_equals_the_whole_month_priced(database, seed):
    fleet = fleet_with(database, seed)
    agrees_with_live(fleet, NOW)  # cold: prices the days before today and caches them
    cached = prefixes(fleet)
    assert set(cached) == set(fleet.devices["acme"])  # never the other account's devices
    assert {through for through, _, _ in cached.values()} == {date(2026, 12, 17)}
    agrees_with_live(fleet, NOW)  # warm: read, only today's hours priced
    assert prefixes(fleet) == cached
    # Another scope, or the other account's devices on acme's account, gets nothing from it.
    with pytest.raises(service.TariffInputError):
        breakdown(fleet, NOW, scope=Scope((fleet.globex,)))
    foreign = breakdown(fleet, NOW, device_ids=fleet.devices["globex"])
    assert foreign.buckets == () and foreign.total == 0
    # One device only: its own prefix, the same amounts as live.
    one = fleet.devices["acme"][:1]
    assert per_device(fleet, NOW, one) == per_device(fleet, EARLIER, one)


def test_tcp002_an_earlier_day_changed_reprices_that_devices_prefix(database):
    fleet = fleet_with(database, 14)
    breakdown(fleet, NOW)
    before = prefixes(fleet)
    device, other = fleet.devices["acme"]
    # A meter correction of 5/12 (any change of the day's hourly rows, whichever path): that device only.
    fleet.database.execute(
        "UPDATE consumption_hourly SET consumption = consumption + 37.25 WHERE device_id = %s AND bucket ="
        " (SELECT min(bucket) FROM consumption_hourly WHERE device_id = %s AND bucket >= %s)",
        (device, device, at(date(2026, 12, 5), 12)))
    agrees_with_live(fleet, NOW)
    after = prefixes(fleet)
    assert after[other] == before[other] and after[device][1] != before[device][1]
    assert after[device][2] != before[device][2]  # its cost before today moved, and is what is served
    # Today's hours changing (the rollup pass every minute) leave every prefix as it was.
    fleet.database.execute(
        "UPDATE consumption_hourly SET consumption = consumption + 1 WHERE device_id = %s AND bucket >= %s"
        " AND bucket < %s", (other, at(date(2026, 12, 17)), at(date(2026, 12, 18))))
    agrees_with_live(fleet, NOW)
    assert prefixes(fleet) == after


def test_tcp003_a_late_reading_for_an_earlier_day_through_the_rollup_function(database):
    fleet = Fleet(database)
    fleet.tariff(fleet.acme)
    device, other = fleet.devices["acme"]
    start = at(date(2026, 12, 3), 10)  # a working day: readings at 10, 13, 16 and 19 h (peak), more on 10/12
    for d in (device, other):
        readings(fleet, d, [(start + timedelta(hours=h), 100.0 + 700 * h) for h in range(0, 12, 3)]
                 + [(at(date(2026, 12, 10), 10), 9000.0), (at(date(2026, 12, 17), 9), 9400.0)])
    cold = breakdown(fleet, NOW)
    # Late: most of the 16 h → 19 h increase of 3/12 now counts at 17 h (shoulder), not in the peak hour.
    readings(fleet, device, [(start + timedelta(hours=7, minutes=30), 6300.0)])
    warm = breakdown(fleet, NOW)
    assert warm.total != cold.total and same(warm.buckets, breakdown(fleet, EARLIER).buckets)
    assert warm.buckets == reference(fleet)


def test_tcp004_a_new_day_a_version_from_today_and_a_retroactive_one(database):
    fleet = fleet_with(database, 23)
    breakdown(fleet, NOW)
    fleet.database.execute("INSERT INTO cost_month_prefix (tariff_id, device_id, month, through, terms, day_count,"
                           " day_last, running, variable, total) SELECT tariff_id, device_id, %s, %s, terms, 0, 0,"
                           " 0, 0, 0 FROM cost_month_prefix", (at(date(2026, 11, 1)), date(2026, 11, 20)))
    agrees_with_live(fleet, TOMORROW)  # a new day: every prefix priced again up to it, November's dropped
    assert {through for through, _, _ in prefixes(fleet).values()} == {date(2026, 12, 18)}
    assert fleet.database.scalar("SELECT count(*) FROM cost_month_prefix WHERE month < %s", (DECEMBER[0],)) == 0
    days_before = breakdown(fleet, TOMORROW, (DECEMBER[0], at(date(2026, 12, 18))), "day")
    with session_scope(fleet.engine) as conn:  # a version from today (18/12): new prices for today's hours
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "valid_from": "2026-12-18",
                              "periods": [{**p, "price": "9.99"} for p in version_input(VERSIONS[1])["periods"]]})
    agrees_with_live(fleet, TOMORROW)
    # Effective dating through the prefix: the days before today cost what they did.
    assert breakdown(fleet, TOMORROW, (DECEMBER[0], at(date(2026, 12, 18))), "day").buckets == days_before.buckets
    with session_scope(fleet.engine) as conn:  # retroactive, inside the prefix: two versions in its days
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[0]), "valid_from": "2026-12-10"})
    agrees_with_live(fleet, TOMORROW)
    assert breakdown(fleet, TOMORROW, (DECEMBER[0], at(date(2026, 12, 18))), "day").buckets != days_before.buckets


def test_tcp005_explorer_sums_equal_the_per_device_costs(database):
    fleet = fleet_with(database, 31)
    devices = fleet.devices["acme"]
    for step in ("cold", "warm", "reading", "terms"):  # cached months and the prefix summed in SQL, then edits
        if step == "reading":  # a late change of one November hour: that device-month is not served as it was
            fleet.database.execute("UPDATE consumption_hourly SET consumption = consumption + 3 WHERE device_id = %s"
                                   " AND bucket = (SELECT min(bucket) FROM consumption_hourly WHERE device_id = %s"
                                   " AND bucket >= %s)", (devices[0], devices[0], at(date(2026, 11, 5))))
        if step == "terms":  # November's bandeira raised
            with session_scope(fleet.engine) as conn:
                service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"month": "2026-11", "value": "0,5"})
        with session_scope(fleet.engine) as conn:
            sums = service.device_sums(conn, ALL_ACCOUNTS, fleet.acme, METRIC, *SPAN, "month", ZONE,
                                       () if step == "warm" else devices, devices[:1], now=NOW)
        live = per_device(fleet, EARLIER, devices)
        with exact():
            want_devices = {d: sum((r.cost for r in live if r.device_id == d), ZERO) for d in devices}
            want_series: dict = {}
            for r in live:
                key = (r.device_id if r.device_id == devices[0] else None, r.bucket)
                want_series[key] = want_series.get(key, ZERO) + r.cost
        assert sums.devices == want_devices and all(v > 0 for v in want_devices.values())
        assert {k: v for k, v in sums.series.items() if v} == {k: v for k, v in want_series.items() if v}
    with session_scope(fleet.engine) as conn:
        assert service.device_sums(conn, ALL_ACCOUNTS, fleet.globex, METRIC, *SPAN, "month", ZONE, now=NOW) is None
        with pytest.raises(service.TariffInputError):
            service.device_sums(conn, ALL_ACCOUNTS, fleet.acme, METRIC, SPAN[1], SPAN[0], "month", ZONE, now=NOW)
