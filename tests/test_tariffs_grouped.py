"""Grouped pricing (SQL sums per device, bucket, day class and period) equals the hour-by-hour engine exactly,
on random series with awkward doubles, negative and zero hours, holidays, a version from mid-month and
spans that start and end mid-month, at every granularity (real PostgreSQL)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import costs, service
from tds_dash.tariffs.engine import exact
from tds_dash.tariffs.model import Usage
from tests.hourly_pricing import engine_priced
from tests.test_tariffs_db import METRIC, ZONE, Fleet, at

# Doubles whose shortest text has 17 digits, tiny ones, negatives (not billed) and zeros (billed the fee).
AWKWARD = (0.1, 0.2, 0.1 + 0.2, 1e-05, 2.675, 57.3, 0.0, -0.5, 123.456789, 7.0, 0.7 + 0.1)


def random_usage(devices: list[int], seed: int) -> list[Usage]:
    rng = random.Random(seed)
    start = at(date(2026, 10, 25))  # before the first version (1/11): unpriced hours too
    hours = sorted(rng.sample(range(70 * 24), 900))
    return [Usage(device, start + timedelta(hours=h), Decimal(repr(rng.choice(AWKWARD) * rng.choice((1, 3, 10)))))
            for device in devices for h in hours if rng.random() < 0.8]


@pytest.fixture
def fleet(database) -> Fleet:
    fleet = Fleet(database)
    fleet.put(fleet.acme, random_usage(fleet.devices["acme"], 14))
    fleet.put(fleet.globex, random_usage(fleet.devices["globex"], 15))
    fleet.tariff(fleet.acme)
    return fleet


@pytest.mark.parametrize("first, last, granularity", [
    ((date(2026, 10, 1), 0), (date(2027, 1, 1), 0), "month"),
    ((date(2026, 10, 1), 0), (date(2027, 1, 1), 0), "day"),
    ((date(2026, 11, 10), 15), (date(2026, 12, 26), 7), "day"),   # mid-month to mid-month, 25/12 inside
    ((date(2026, 11, 10), 15), (date(2026, 12, 26), 7), "month"),
    ((date(2026, 11, 15), 0), (date(2026, 11, 21), 5), "hour"),   # V2 from 16/11, holiday 20/11
])
def test_tgr001_grouped_equals_hour_by_hour(fleet, first, last, granularity):
    start, end = at(*first), at(*last)
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        fast = service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, granularity, ZONE)
        usage, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, ())
        some = service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, granularity, ZONE,
                                      fleet.devices["acme"][:1])
        one = engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, fleet.devices["acme"][:1])
    slow = costs.group_buckets(usage, lines, granularity, ZONE)
    with exact():  # sums of exact decimals, never rounded to 28 digits
        total, unpriced = sum(b.cost for b in slow), sum(x.quantity for x in lines if x.component == "unpriced")
    assert fast.buckets == slow and fast.total == total > 0
    assert fast.unpriced_quantity == unpriced
    assert some.buckets == costs.group_buckets(*one, granularity, ZONE) and some.total < fast.total


def test_tgr002_per_device_costs_equal_hour_by_hour(fleet):
    start, end = at(date(2026, 11, 3), 12), at(date(2026, 12, 20))
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        rows = service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "day", ZONE)
        usage, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, ())
    want: dict[tuple, list[Decimal]] = {}
    with exact():
        for u in usage:
            want.setdefault((costs.bucket_of(u.hour, "day", ZONE), u.device_id), [Decimal(0)] * 2)[0] += u.quantity
        for x in lines:
            want.setdefault((costs.bucket_of(x.bucket, "day", ZONE), x.device_id), [Decimal(0)] * 2)[1] += x.amount
    assert {(r.bucket, r.device_id): [r.quantity, r.cost] for r in rows} == want


def test_tgr003_a_span_inside_one_month_counts_only_the_hours_before_it_for_its_tiers(database):
    """By month, the hours before the span and those after it share the month's bucket: two segments, priced in
    time order (as one, priced at the first's time, the span's tier position counted the hours after it)."""
    fleet = Fleet(database)
    device = fleet.devices["acme"][0]
    fleet.put(fleet.acme, [Usage(device, at(date(2026, 12, 5), 3), Decimal(10)),  # before: tier 1 (up to 30.5)
                           Usage(device, at(date(2026, 12, 15), 3), Decimal(50)),  # inside: tiers 1 and 2
                           Usage(device, at(date(2026, 12, 25), 3), Decimal(80))])  # after
    fleet.tariff(fleet.acme)
    start, end = at(date(2026, 12, 10)), at(date(2026, 12, 20))
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        fast = service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "month", ZONE)
        slow = costs.group_buckets(*engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, ()), "month", ZONE)
    assert fast.buckets == slow
    tiers = {c.label: c.quantity for c in fast.buckets[0].components if c.component == "tier"}
    assert sorted(tiers.values()) == [Decimal("20.5"), Decimal("29.5")]


def test_tgr004_hours_after_a_span_count_for_its_months_minimum_top_up(database):
    """A span from the 1st that ends mid-month shows the month's fee and minimum top-up, from the whole month's
    pre-tax amount: the hours after the span count (priced without their lines: grouped._segment_variable)."""
    fleet = Fleet(database)
    device = fleet.devices["acme"][0]
    fleet.put(fleet.acme, [Usage(device, at(date(2026, 12, 5), 3), Decimal(10)),  # small: the minimum binds
                           Usage(device, at(date(2026, 12, 15), 19), Decimal(5)),  # a peak hour
                           Usage(device, at(date(2026, 12, 25), 3), Decimal("10.5"))])  # after the span (holiday)
    fleet.tariff(fleet.acme)
    start, end = at(date(2026, 12, 1)), at(date(2026, 12, 20))
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        fast = service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "month", ZONE)
        slow = costs.group_buckets(*engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, ()), "month", ZONE)
    assert fast.buckets == slow
    assert any(c.component == "minimum" and c.cost > 0 for c in fast.buckets[0].components)
