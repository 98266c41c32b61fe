"""An ended month cut inside (the overview card's "same elapsed part of last month") from its cut prefix
(tds_dash/tariffs/cut_prefix.py, sql/096) against a real PostgreSQL: equal to live grouped pricing and to the
hour-by-hour reference to the centavo, its days add up to it, a later cut extends the cached rows by the hours
in between and equals a fresh pricing, an earlier cut is priced again, and a change of any hour of that month
(before or after the cut: the minimum top-up depends on the whole month), a bandeira edit, a retroactive
version never serve an old amount; never another scope's answer."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tds_dash.consumption import month_cost
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.tariffs import costs, service, today_cache
from tds_dash.tariffs.engine import exact
from tests.hourly_pricing import engine_priced
from tests.tariff_reference import VERSIONS
from tests.test_cost_cache import fleet_with, readings, same
from tests.test_tariffs_db import ADMIN, METRIC, ZONE, Fleet, at, version_input

NOW = at(date(2026, 12, 17), 14) + timedelta(minutes=30)  # November over; the card compares up to 17/11 14 h
EARLIER = at(date(2026, 10, 1), 5)  # nothing over: everything priced live
NOVEMBER = at(date(2026, 11, 1))
CUT = at(date(2026, 11, 17), 14)


def breakdown(fleet: Fleet, now: datetime, end: datetime = CUT, granularity: str = "month", scope=ALL_ACCOUNTS,
              **kwargs):
    with session_scope(fleet.engine) as conn:
        return service.cost_breakdown(conn, scope, fleet.acme, METRIC, NOVEMBER, end, granularity, ZONE, now=now,
                                      **kwargs)


def reference(fleet: Fleet, end: datetime):
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        usage, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, NOVEMBER, end, ZONE, ())
    return costs.group_buckets(usage, lines, "month", ZONE)


def rows(fleet: Fleet) -> dict:
    return {d: (cut, last, total) for d, cut, last, total in fleet.database.query(
        "SELECT device_id, cut, day_last, total FROM cost_cut_prefix WHERE month = %s", (NOVEMBER,))}


def per_device(fleet: Fleet, now: datetime, end: datetime, device_ids=()):
    with session_scope(fleet.engine) as conn:
        return service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, NOVEMBER, end, "month", ZONE,
                                             device_ids, now=now)


def agrees_with_live(fleet: Fleet, end: datetime = CUT) -> None:
    got, live = breakdown(fleet, NOW, end), breakdown(fleet, EARLIER, end)
    assert same(got.buckets, live.buckets) and got.buckets == reference(fleet, end)
    assert str(got.total) == str(live.total) and got.total > 0
    days = breakdown(fleet, NOW, end, "day")
    with exact():
        assert sum(b.cost for b in days.buckets) == got.total
    assert per_device(fleet, NOW, end) == per_device(fleet, EARLIER, end)


@pytest.mark.parametrize("seed", [14, 23])
def test_tcx001_cut_month_from_its_prefix_equals_live_and_extends(database, seed):
    fleet = fleet_with(database, seed)
    agrees_with_live(fleet)  # cold: prices the month, caches it up to the cut
    cached = rows(fleet)
    assert set(cached) == set(fleet.devices["acme"])  # never the other account's devices
    assert {cut for cut, _, _ in cached.values()} == {CUT}
    agrees_with_live(fleet)  # warm: read only
    assert rows(fleet) == cached
    later = CUT + timedelta(hours=27)  # a later cut: only the hours in between priced, added to the rows
    agrees_with_live(fleet, later)
    extended = rows(fleet)
    assert {cut for cut, _, _ in extended.values()} == {later}
    assert {d: last for d, (_, last, _) in extended.items()} == {d: last for d, (_, last, _) in cached.items()}
    agrees_with_live(fleet, later)  # warm after the extension: the lines grew once
    assert rows(fleet) == extended
    agrees_with_live(fleet)  # an earlier cut than cached: priced again, to it
    assert rows(fleet) == cached
    with pytest.raises(service.TariffInputError):  # another scope gets nothing from it
        breakdown(fleet, NOW, scope=Scope((fleet.globex,)))
    foreign = breakdown(fleet, NOW, device_ids=fleet.devices["globex"])
    assert foreign.buckets == () and foreign.total == 0
    one = fleet.devices["acme"][:1]
    assert per_device(fleet, NOW, CUT, one) == per_device(fleet, EARLIER, CUT, one)


@pytest.mark.parametrize("day", [date(2026, 11, 5), date(2026, 11, 25)])  # before and after the cut
def test_tcx002_any_hour_of_that_month_changed_reprices_that_device(database, day):
    fleet = fleet_with(database, 14)
    breakdown(fleet, NOW)
    before = rows(fleet)
    device, other = fleet.devices["acme"]
    fleet.database.execute(
        "UPDATE consumption_hourly SET consumption = consumption + 37.25 WHERE device_id = %s AND bucket ="
        " (SELECT min(bucket) FROM consumption_hourly WHERE device_id = %s AND bucket >= %s)",
        (device, device, at(day, 12)))
    agrees_with_live(fleet)
    after = rows(fleet)
    assert after[other] == before[other] and after[device][1] != before[device][1]
    agrees_with_live(fleet, CUT + timedelta(hours=5))  # extended from the repriced rows


def test_tcx003_a_late_reading_a_bandeira_edit_and_a_retroactive_version(database):
    fleet = Fleet(database)
    fleet.tariff(fleet.acme)
    device, other = fleet.devices["acme"]
    start = at(date(2026, 11, 3), 10)  # a working day: readings at 10, 13, 16 and 19 h (peak)
    for d in (device, other):
        readings(fleet, d, [(start + timedelta(hours=h), 100.0 + 700 * h) for h in range(0, 12, 3)]
                 + [(at(date(2026, 11, 10), 10), 9000.0), (at(date(2026, 11, 26), 9), 9400.0)])
    cold = breakdown(fleet, NOW)
    readings(fleet, device, [(start + timedelta(hours=7, minutes=30), 6300.0)])  # late: shoulder, not peak
    warm = breakdown(fleet, NOW)
    assert warm.total != cold.total and same(warm.buckets, breakdown(fleet, EARLIER).buckets)
    assert warm.buckets == reference(fleet, CUT)
    with session_scope(fleet.engine) as conn:  # November's bandeira raised
        service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"month": "2026-11", "value": "0,5"})
    raised = breakdown(fleet, NOW)
    assert raised.total != warm.total and same(raised.buckets, breakdown(fleet, EARLIER).buckets)
    with session_scope(fleet.engine) as conn:  # retroactive, inside the cut part of November
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "valid_from": "2026-11-10",
                              "periods": [{**p, "price": "9.99"} for p in version_input(VERSIONS[1])["periods"]]})
    retro = breakdown(fleet, NOW)
    assert retro.total != raised.total and same(retro.buckets, breakdown(fleet, EARLIER).buckets)
    assert retro.buckets == reference(fleet, CUT)


def test_tcx004_the_overview_card_compares_with_the_cut_prefix(database):
    fleet = fleet_with(database, 31)
    with session_scope(fleet.engine) as conn:
        card = month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, NOW, ZONE)
    assert card.previous == breakdown(fleet, EARLIER).total > 0  # the same elapsed part of November, live
    assert {cut for cut, _, _ in rows(fleet).values()} == {CUT}
    priced = today_cache.stats["priced"]
    with session_scope(fleet.engine) as conn:  # again: its two spans of December keep their own today entries
        assert month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, NOW, ZONE) == card
    assert today_cache.stats["priced"] == priced
    with session_scope(fleet.engine) as conn:
        warm = month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, NOW + timedelta(hours=1), ZONE)
    assert warm.previous == breakdown(fleet, EARLIER, CUT + timedelta(hours=1)).total
