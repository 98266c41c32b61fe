"""The device-month cost cache (tds_dash/tariffs/month_cache.py, sql/085) against a real PostgreSQL: cached
answers equal fresh grouped pricing and the hour-by-hour reference exactly over random series; a tariff edit
(retroactive version, surcharge) and a late reading through the rollup functions change the cached answer of
exactly the months they touch; the cache never answers outside the viewer's scope."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.tariffs import costs, month_cache, service
from tds_dash.tariffs.engine import exact
from tests.hourly_pricing import engine_priced
from tests.tariff_reference import VERSIONS
from tests.test_tariffs_db import ADMIN, METRIC, ZONE, Fleet, at, version_input
from tests.test_tariffs_grouped import random_usage

LATER = datetime(2027, 3, 1, tzinfo=UTC)  # Oct 2026 .. Jan 2027 are over: the cache may answer them
EARLIER = datetime(2026, 10, 1, tzinfo=UTC)  # none is over: everything priced live
SPAN = (at(date(2026, 10, 1)), at(date(2027, 2, 1)))


def fleet_with(database, seed: int) -> Fleet:
    fleet = Fleet(database)
    fleet.put(fleet.acme, random_usage(fleet.devices["acme"], seed))
    fleet.put(fleet.globex, random_usage(fleet.devices["globex"], seed + 1))
    fleet.tariff(fleet.acme)
    return fleet


def breakdown(fleet: Fleet, now: datetime, scope: Scope = ALL_ACCOUNTS, **kwargs):
    with session_scope(fleet.engine) as conn:
        return service.cost_breakdown(conn, scope, fleet.acme, METRIC, *SPAN, "month", ZONE, now=now, **kwargs)


def per_device(fleet: Fleet, now: datetime):
    with session_scope(fleet.engine) as conn:
        return service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, *SPAN, "month", ZONE, now=now)


def cached_rows(fleet: Fleet) -> dict:
    return {(d, m.astimezone(ZONE).date()): (stamp, terms, total) for d, m, stamp, terms, total in
            fleet.database.query("SELECT device_id, month, stamp, terms, total FROM cost_months")}


def reference(fleet: Fleet):
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        usage, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, *SPAN, ZONE, ())
    return costs.group_buckets(usage, lines, "month", ZONE)


def same(a, b) -> bool:
    """Equal buckets and equal decimal text of every amount (the API prints them as they are); the hour-by-hour
    reference can differ in trailing zeros of a tier piece, so it is compared by value only."""
    text = [[str(x.cost), str(x.quantity), [(c.component, c.label, str(c.quantity), str(c.cost)) for c in x.components]]
            for x in a]
    return a == b and text == [[str(x.cost), str(x.quantity), [(c.component, c.label, str(c.quantity), str(c.cost))
                                                                for c in x.components]] for x in b]


@pytest.mark.parametrize("seed", [14, 23, 31])
def test_tcc001_cached_equals_fresh_and_hour_by_hour(database, seed):
    fleet = fleet_with(database, seed)
    fresh = breakdown(fleet, EARLIER)
    assert cached_rows(fleet) == {}  # nothing over yet: nothing cached
    cold = breakdown(fleet, LATER)
    rows = cached_rows(fleet)
    assert {month for _, month in rows} == {date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)}
    assert {device for device, _ in rows} == set(fleet.devices["acme"])  # never the other account's devices
    assert fleet.database.scalar("SELECT count(*) FROM cost_month_sums WHERE component = ''") == 4  # all devices
    warm = breakdown(fleet, LATER)
    assert fresh.buckets == reference(fleet) and same(cold.buckets, fresh.buckets)
    assert same(warm.buckets, fresh.buckets)
    assert warm.total == fresh.total > 0 and warm.unpriced_quantity == fresh.unpriced_quantity
    assert str(warm.total) == str(fresh.total)
    assert per_device(fleet, LATER) == per_device(fleet, EARLIER)
    with session_scope(fleet.engine) as conn:  # warm: read (month sums, device rows), none priced
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        read = month_cache.read_months(conn, ALL_ACCOUNTS, tariff, [date(2026, 11, 1)], ZONE, (), "component")
        some = month_cache.read_months(conn, ALL_ACCOUNTS, tariff, [date(2026, 11, 1)], ZONE,
                                       fleet.devices["acme"], "component")
    assert read.usage == [] and read.lines == [] and read.rows
    assert some.usage == [] and some.lines == [] and sorted(map(str, some.rows)) == sorted(map(str, read.rows))
    assert cached_rows(fleet) == rows


def test_tcc002_a_tariff_edit_reprices_exactly_the_months_it_touches(database):
    fleet = fleet_with(database, 14)
    breakdown(fleet, LATER)
    before = cached_rows(fleet)
    with session_scope(fleet.engine) as conn:  # a retroactive version from 10/12, and November's bandeira raised
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "valid_from": "2026-12-10", "fixed_fee": "99"})
        service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"month": "2026-11", "value": "0,5"})
    warm = breakdown(fleet, LATER)
    after = cached_rows(fleet)
    changed = {month for key, month in before if before[(key, month)] != after[(key, month)]}
    # November (its bandeira), December and January (the new version is in force from 10/12 on) were priced
    # again; October was read as it was.
    assert changed == {date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)}
    assert same(warm.buckets, breakdown(fleet, EARLIER).buckets) and warm.buckets == reference(fleet)
    old = {b.bucket.astimezone(ZONE).date(): b.cost for b in breakdown(fleet, EARLIER).buckets}
    assert old[date(2026, 11, 1)] != sum(t for (_, m), (_, _, t) in before.items() if m == date(2026, 11, 1))


def readings(fleet: Fleet, device: int, rows) -> None:
    """Counter readings through the app's own rollup function (the rollup pass calls the same)."""
    gateway = fleet.database.scalar("SELECT gateway_id FROM devices WHERE id = %s", (device,))
    fleet.database.execute(
        "UPDATE device_metrics SET meter_kind = 'counter' WHERE device_id = %s AND metric_id = %s",
        (device, fleet.metric_id))
    for ts, value in rows:
        fleet.database.execute(
            "INSERT INTO readings (device_id, metric_id, ts, value, account_id, gateway_id)"
            " VALUES (%s, %s, %s, %s, %s, %s)", (device, fleet.metric_id, ts, value, fleet.acme, gateway))
        fleet.database.execute("SELECT tds_refresh_rollups(%s, %s, %s, %s)",
                               ([device], [fleet.metric_id], [ts], ZONE.key))


def test_tcc003_a_late_reading_reprices_its_device_month(database):
    fleet = Fleet(database)
    fleet.tariff(fleet.acme)
    device, other = fleet.devices["acme"]
    start = at(date(2026, 11, 3), 10)  # a working day: readings at 10, 13, 16 and 19 h (peak), one in December
    for d in (device, other):
        readings(fleet, d, [(start + timedelta(hours=h), 100.0 + 700 * h) for h in range(0, 12, 3)]
                 + [(at(date(2026, 12, 3), 10), 9000.0)])
    cold = breakdown(fleet, LATER)
    before = cached_rows(fleet)
    # Late: most of the 16 h → 19 h increase now counts at 17 h (off-peak), not in the peak hour of 19 h.
    readings(fleet, device, [(start + timedelta(hours=7, minutes=30), 6300.0)])
    after = cached_rows(fleet)
    assert after == before  # nothing priced yet: the stamp moved, the row no longer matches
    warm = breakdown(fleet, LATER)
    repriced = cached_rows(fleet)
    assert {k for k in before if before[k] != repriced[k]} == {(device, date(2026, 11, 1)),
                                                                 (device, date(2026, 12, 1))}
    assert warm.total != cold.total and same(warm.buckets, breakdown(fleet, EARLIER).buckets)
    assert warm.buckets == reference(fleet)


def test_tcc004_never_another_scopes_answer(database):
    fleet = fleet_with(database, 14)
    fleet.tariff(fleet.globex)
    acme = breakdown(fleet, LATER)
    globex_only = Scope((fleet.globex,))
    with pytest.raises(service.TariffInputError):
        breakdown(fleet, LATER, scope=globex_only)
    foreign = breakdown(fleet, LATER, device_ids=fleet.devices["globex"])  # globex's devices on acme's account
    assert foreign.buckets == () and foreign.total == 0
    with session_scope(fleet.engine) as conn:
        theirs = service.cost_breakdown(conn, globex_only, fleet.globex, METRIC, *SPAN, "month", ZONE, now=LATER)
        mine = service.cost_breakdown(conn, Scope((fleet.acme,)), fleet.acme, METRIC, *SPAN, "month", ZONE, now=LATER)
    assert theirs.total != acme.total and same(mine.buckets, acme.buckets)
    with exact():
        assert sum(b.cost for b in acme.buckets) == acme.total
    assert Decimal(0) < theirs.total
