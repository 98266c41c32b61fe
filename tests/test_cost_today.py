"""The running month's today priced per device and kept in the process (tds_dash/tariffs/today_cache.py) against
a real PostgreSQL: a read with nothing changed prices no device; a new reading of today, a meter correction of
today's hour, a late reading for an earlier day reprice exactly the devices they touch; a new day, a version
from today, a retroactive one and a bandeira edit reprice every device; every answer equals live grouped pricing
and the hour-by-hour reference to the centavo, and another scope or device filter never gets another's answer."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.tariffs import service, today_cache
from tests.tariff_reference import VERSIONS
from tests.test_cost_cache import fleet_with, readings
from tests.test_cost_prefix import EARLIER, NOW, TOMORROW, agrees_with_live, breakdown, per_device
from tests.test_tariffs_db import ADMIN, METRIC, Fleet, at, version_input


def priced(fleet, now, **kwargs) -> tuple[int, int]:
    """(devices priced, devices reused) by one cost_breakdown of the test span."""
    before = dict(today_cache.stats)
    breakdown(fleet, now, **kwargs)
    return today_cache.stats["priced"] - before["priced"], today_cache.stats["reused"] - before["reused"]


def test_tct001_only_devices_whose_today_changed_are_priced(database):
    fleet = fleet_with(database, 14)
    device, other = fleet.devices["acme"]
    agrees_with_live(fleet, NOW)
    assert priced(fleet, NOW) == (0, 2)  # nothing changed: both read from the process
    # Today's hour corrected (the rollup pass's update of the hour in progress): that device only.
    fleet.database.execute(
        "UPDATE consumption_hourly SET consumption = consumption + 2.5 WHERE device_id = %s AND bucket >= %s"
        " AND bucket < %s", (device, at(date(2026, 12, 17)), at(date(2026, 12, 18))))
    assert priced(fleet, NOW) == (1, 1)
    agrees_with_live(fleet, NOW)
    # A late change of an earlier day (5/12): the prefix it carries moves, so its today is priced again.
    fleet.database.execute(
        "UPDATE consumption_hourly SET consumption = consumption + 37.25 WHERE device_id = %s AND bucket ="
        " (SELECT min(bucket) FROM consumption_hourly WHERE device_id = %s AND bucket >= %s)",
        (other, other, at(date(2026, 12, 5), 12)))
    assert priced(fleet, NOW) == (1, 1)
    agrees_with_live(fleet, NOW)
    # Another span (the card's "up to the last whole hour"), one device, another scope: their own answers.
    cut = at(date(2026, 12, 17), 14)
    assert breakdown(fleet, NOW, (at(date(2026, 12, 1)), cut)).total == breakdown(
        fleet, EARLIER, (at(date(2026, 12, 1)), cut)).total
    assert per_device(fleet, NOW, [device]) == per_device(fleet, EARLIER, [device])
    with pytest.raises(service.TariffInputError):
        breakdown(fleet, NOW, scope=Scope((fleet.globex,)))
    foreign = breakdown(fleet, NOW, device_ids=fleet.devices["globex"])
    assert foreign.buckets == () and foreign.total == 0


def test_tct002_a_new_reading_of_today_through_the_rollup_function(database):
    fleet = Fleet(database)
    fleet.tariff(fleet.acme)
    device, other = fleet.devices["acme"]
    start = at(date(2026, 12, 3), 10)
    for d in (device, other):
        readings(fleet, d, [(start + timedelta(hours=h), 100.0 + 700 * h) for h in range(0, 12, 3)]
                 + [(at(date(2026, 12, 17), 9), 9400.0)])
    first = breakdown(fleet, NOW)
    assert priced(fleet, NOW) == (0, 2)
    readings(fleet, device, [(at(date(2026, 12, 17), 13), 9900.0)])  # a new hour of today
    assert priced(fleet, NOW) == (1, 1)
    now = breakdown(fleet, NOW)
    assert now.total > first.total and now.buckets == breakdown(fleet, EARLIER).buckets


def test_tct003_a_new_day_a_version_from_today_a_retroactive_one_and_a_bandeira(database):
    fleet = fleet_with(database, 23)
    breakdown(fleet, NOW)
    assert priced(fleet, TOMORROW) == (2, 0)  # a new day
    agrees_with_live(fleet, TOMORROW)
    assert priced(fleet, TOMORROW) == (0, 2)
    with session_scope(fleet.engine) as conn:  # a version from today (18/12)
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "valid_from": "2026-12-18",
                              "periods": [{**p, "price": "9.99"} for p in version_input(VERSIONS[1])["periods"]]})
    assert priced(fleet, TOMORROW) == (2, 0)
    agrees_with_live(fleet, TOMORROW)
    with session_scope(fleet.engine) as conn:  # retroactive, inside the month's days before today
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[0]), "valid_from": "2026-12-10"})
    assert priced(fleet, TOMORROW) == (2, 0)
    agrees_with_live(fleet, TOMORROW)
    with session_scope(fleet.engine) as conn:  # December's bandeira raised
        service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"month": "2026-12", "value": "0,5"})
    assert priced(fleet, TOMORROW) == (2, 0)
    agrees_with_live(fleet, TOMORROW)


def test_tct004_a_full_cache_lets_the_least_recently_used_go_not_everything(database, monkeypatch):
    """Spans accumulate (the card's 'so far' ends with the hour in progress): at the bound the oldest entries
    leave, and the span read on every refresh stays warm — emptying the cache made its next read a cold one."""
    fleet = fleet_with(database, 14)
    monkeypatch.setattr(today_cache, "MAX_ENTRIES", 4)  # two devices: room for two spans
    today_cache.clear()
    month_start = at(date(2026, 12, 1))
    breakdown(fleet, NOW)  # the span in use: its two entries
    for hour in (10, 11, 12):  # three other spans, one after the other, each read between two refreshes
        breakdown(fleet, NOW, (month_start, at(date(2026, 12, 17), hour)))
        assert priced(fleet, NOW) == (0, 2)  # the refreshed span is still there
    assert len(today_cache._ENTRIES) == 4
    assert priced(fleet, NOW, span=(month_start, at(date(2026, 12, 17), 10))) == (2, 0)  # the oldest went
    agrees_with_live(fleet, NOW)
