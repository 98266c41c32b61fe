"""The cost engine, validation, calendar and money helpers: pure, no database.

Costs are compared with the plain reference in tests/tariff_reference.py over random hourly series
(hypothesis), and with hand-computed lines for holidays, weekends, a tier crossed mid-day, a bandeira
change, a version starting mid-month, effective dating and a DST zone.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tds_dash.tariffs import calendar
from tds_dash.tariffs.costs import group_buckets
from tds_dash.tariffs.model import (
    ENERGY,
    FIXED_FEE,
    MINIMUM,
    SURCHARGE,
    TAX,
    TIER,
    UNPRICED,
    TariffVersion,
    Usage,
    to_plain,
)
from tds_dash.tariffs.money import format_brl, split_centavos, to_centavos
from tds_dash.tariffs.validation import TariffInputError, parse_decimal, parse_surcharge, parse_tariff, parse_version
from tests.hourly_pricing import cost_lines, total
from tests.tariff_reference import SURCHARGES, V1, V2, VERSIONS, local_instant, reference

D = Decimal
SAO_PAULO, NEW_YORK = ZoneInfo("America/Sao_Paulo"), ZoneInfo("America/New_York")


def at(day: date, hour: int, zone: ZoneInfo = SAO_PAULO) -> datetime:
    return local_instant(day, hour, zone)


def lines_of(usage, versions=VERSIONS, surcharges=SURCHARGES, zone=SAO_PAULO):
    return cost_lines(usage, versions, surcharges, zone)


def by_bucket(lines) -> dict[tuple[int, datetime], Decimal]:
    out: dict[tuple[int, datetime], Decimal] = defaultdict(Decimal)
    for line in lines:
        out[(line.device_id, line.bucket)] += line.amount
    return dict(out)


def hour_line(lines, when: datetime, component: str):
    return [line for line in lines if line.bucket == when and line.component == component]


# --------------------------------------------------------------------------- against the reference

def usage_series(zone: ZoneInfo):
    """Random sparse hourly consumption of up to 3 devices from 31/10 (before any version) to 31/12."""
    start = at(date(2026, 10, 31), 0, zone)
    hours = int((at(date(2027, 1, 1), 0, zone) - start).total_seconds() // 3600)
    row = st.tuples(st.integers(1, 3), st.integers(0, hours - 1),
                    st.decimals(min_value=0, max_value=9, places=3, allow_nan=False, allow_infinity=False))
    return st.lists(row, max_size=150, unique_by=lambda r: (r[0], r[1])).map(
        lambda rows: [Usage(d, start + timedelta(hours=h), q) for d, h, q in rows])


@pytest.mark.parametrize("zone", [SAO_PAULO, NEW_YORK], ids=["sao_paulo", "new_york"])
def test_trf001_costs_equal_the_reference_per_bucket(zone):
    @hypothesis_settings(max_examples=60, deadline=None)
    @given(usage=usage_series(zone))
    def check(usage):
        got = by_bucket(lines_of(usage, zone=zone))
        want = reference(usage, VERSIONS, SURCHARGES, zone)
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}

    check()


@hypothesis_settings(max_examples=60, deadline=None)
@given(usage=usage_series(SAO_PAULO))
def test_trf002_hours_days_and_months_add_up_exactly(usage):
    lines = lines_of(usage)
    month = group_buckets(usage, lines, "month", SAO_PAULO)
    for granularity in ("hour", "day"):
        finer = group_buckets(usage, lines, granularity, SAO_PAULO)
        per_month: dict[datetime, Decimal] = defaultdict(Decimal)
        for bucket in finer:
            first = bucket.bucket.astimezone(SAO_PAULO).date().replace(day=1)
            per_month[at(first, 0)] += bucket.cost
        assert {b.bucket: b.cost for b in month} == dict(per_month)
        assert sum(b.cost for b in finer) == total(lines)
    for bucket in month:
        assert sum(c.cost for c in bucket.components) == bucket.cost
    shown = split_centavos([b.cost for b in group_buckets(usage, lines, "day", SAO_PAULO)])
    assert sum(shown, D(0)) == to_centavos(total(lines))


# --------------------------------------------------------------------------- calendar and time of use

def test_trf003_consciencia_negra_and_christmas_are_holidays_in_the_pinned_package():
    assert calendar.day_type(date(2026, 11, 20)) == "sunday_holiday"  # a Friday
    assert calendar.day_type(date(2026, 12, 25)) == "sunday_holiday"  # a Friday
    assert calendar.day_type(date(2026, 11, 19)) == "working"
    assert calendar.day_type(date(2026, 11, 21)) == "saturday"
    assert calendar.day_type(date(2026, 11, 22)) == "sunday_holiday"
    assert calendar.day_type(date(2026, 7, 9)) == "working"
    assert calendar.day_type(date(2026, 7, 9), "SP") == "sunday_holiday"  # Revolução Constitucionalista


def test_trf004_peak_hour_on_a_holiday_and_a_weekend_is_off_peak():
    days = {date(2026, 11, 12): ("ponta", D("1.20")), date(2026, 11, 14): ("fora de ponta", D("0.50")),
            date(2026, 11, 19): ("ponta", D("1.35")), date(2026, 11, 20): ("fora de ponta", D("0.55")),
            date(2026, 11, 21): ("fora de ponta", D("0.55")), date(2026, 11, 22): ("fora de ponta", D("0.55")),
            date(2026, 12, 25): ("fora de ponta", D("0.55")), date(2026, 12, 24): ("ponta", D("1.35"))}
    usage = [Usage(1, at(day, 19), D("1")) for day in days]
    lines = lines_of(usage)
    for day, (name, price) in days.items():
        [energy] = hour_line(lines, at(day, 19), ENERGY)
        assert (energy.label, energy.unit_price, energy.amount) == (name, price, price)


def test_trf005_tier_boundary_crossed_mid_day_splits_the_hour():
    usage = [Usage(1, at(date(2026, 11, 3), h), D("20")) for h in range(8, 14)]  # 20 per hour from 08 h
    lines = lines_of(usage)
    crossing = hour_line(lines, at(date(2026, 11, 3), 9), TIER)  # 20 → 40 crosses 30.5
    assert [(t.label, t.quantity, t.amount) for t in crossing] == [("0–30.5", D("10.5"), D("0")),
                                                                   ("30.5–100", D("9.5"), D("0.950"))]
    top = hour_line(lines, at(date(2026, 11, 3), 12), TIER)  # 80 → 100 → exactly at the bound
    assert [(t.label, t.quantity) for t in top] == [("30.5–100", D("20"))]
    [last] = hour_line(lines, at(date(2026, 11, 3), 13), TIER)
    assert (last.label, last.quantity, last.amount) == ("100+", D("20"), D("5.00"))


def test_trf006_bandeira_follows_the_month():
    usage = [Usage(1, at(date(2026, 11, 30), 23), D("2")), Usage(1, at(date(2026, 12, 1), 0), D("2"))]
    lines = lines_of(usage)
    nov = hour_line(lines, at(date(2026, 11, 30), 23), SURCHARGE)
    dec = hour_line(lines, at(date(2026, 12, 1), 0), SURCHARGE)
    assert [(s.label, s.amount) for s in nov] == [("amarela", D("0.03770"))]
    assert [(s.label, s.amount) for s in dec] == [("vermelha 1", D("0.08926"))]


def test_trf007_version_starting_mid_month_prices_from_its_local_midnight():
    usage = [Usage(1, at(date(2026, 11, 15), 23), D("40")), Usage(1, at(date(2026, 11, 16), 0), D("1"))]
    lines = lines_of(usage)
    [before] = hour_line(lines, at(date(2026, 11, 15), 23), ENERGY)
    [after] = hour_line(lines, at(date(2026, 11, 16), 0), ENERGY)
    assert (before.version_from, before.unit_price) == (V1.valid_from, D("0.50"))
    assert (after.version_from, after.unit_price) == (V2.valid_from, D("0.55"))
    # The month's running total carries over the version change: 40 already used, so V2's 30.5–100 block.
    assert [t.label for t in hour_line(lines, at(date(2026, 11, 16), 0), TIER)] == ["30.5–100"]
    taxes = {t.label: t.amount for t in hour_line(lines, at(date(2026, 11, 16), 0), TAX)}
    assert set(taxes) == {"ICMS", "PIS/COFINS"} and taxes["ICMS"] == (D("0.55") + D("0.12") + D("0.01885")) * D("0.175")


def test_trf008_fee_and_minimum_are_the_first_days_version_in_the_months_first_bucket():
    usage = [Usage(1, at(date(2026, 11, 10), 3), D("1")), Usage(1, at(date(2026, 12, 10), 3), D("1"))]
    lines = lines_of(usage)
    fees = {line.month: line for line in lines if line.component == FIXED_FEE}
    assert fees[date(2026, 11, 1)].amount == D("12.34") and fees[date(2026, 11, 1)].bucket == at(date(2026, 11, 1), 0)
    assert fees[date(2026, 12, 1)].amount == D("15")
    [minimum] = [line for line in lines if line.component == MINIMUM and line.month == date(2026, 11, 1)]
    # 1 kWh off-peak + bandeira: 0.51885; top-up to 40 after the 12.34 fee.
    assert minimum.amount == D("40") - D("12.34") - D("0.51885")


def test_trf009_a_version_from_today_changes_nothing_before_today():
    today = date(2026, 12, 10)
    usage = [Usage(d, at(date(2026, 11, 1), 0) + timedelta(hours=h), D("1.5")) for d in (1, 2)
             for h in range(0, 61 * 24, 7)]
    cheaper = TariffVersion(today, fixed_fee=D("1"), minimum_charge=D("0"), periods=V2.periods[:0] + V2.periods,
                            tiers=(), taxes=())
    old, new = lines_of(usage), lines_of(usage, versions=VERSIONS + (cheaper,))
    cut = at(today, 0)
    assert [x for x in old if x.bucket < cut] == [x for x in new if x.bucket < cut]
    assert [x for x in old if x.bucket >= cut] != [x for x in new if x.bucket >= cut]


def test_trf010_hours_before_the_first_version_are_unpriced_not_free():
    usage = [Usage(1, at(date(2026, 10, 31), 12), D("3"))]
    [line] = lines_of(usage)
    assert (line.component, line.quantity, line.amount) == (UNPRICED, D("3"), D("0"))


def test_trf011_new_york_dst_hours_are_priced_by_their_local_hour():
    # 2026-11-01 01:00 happens twice in New York (EDT then EST); both are a Sunday's off-peak hours.
    first, second = datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)
    tuesday_peak = at(date(2026, 11, 3), 18, NEW_YORK)  # 23:00 UTC, EST (2/11 is Finados, a holiday)
    october = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # 31/10 23:30 EDT: still October, before V1
    usage = [Usage(1, first, D("1")), Usage(1, second, D("1")), Usage(1, tuesday_peak, D("1")),
             Usage(1, october.replace(minute=0), D("1"))]
    lines = lines_of(usage, zone=NEW_YORK)
    assert [x.label for x in hour_line(lines, first, ENERGY)] == ["fora de ponta"]
    assert [x.label for x in hour_line(lines, second, ENERGY)] == ["fora de ponta"]
    assert [x.unit_price for x in hour_line(lines, tuesday_peak, ENERGY)] == [D("1.20")]
    assert [x.component for x in lines if x.bucket == october.replace(minute=0)] == [UNPRICED]
    [fee] = [x for x in lines if x.component == FIXED_FEE]
    assert fee.bucket == datetime(2026, 11, 1, 4, tzinfo=UTC)  # local midnight, EDT


# --------------------------------------------------------------------------- validation

WINDOWS_ALL = [{"day_type": kind, "start": 0, "end": 24} for kind in ("working", "saturday", "sunday_holiday")]


def version_input(**changes) -> dict:
    data = {"valid_from": "2026-11-16", "fixed_fee": "15", "minimum_charge": "45,5",
            "periods": [{"name": "única", "price": "0,85", "windows": WINDOWS_ALL}],
            "tiers": [{"up_to": "10", "price": "0"}, {"up_to": "20", "price": "4.5"}, {"up_to": None, "price": "6"}],
            "taxes": [{"name": "ICMS", "rate": "18"}, {"name": "PIS/COFINS", "rate": "4.65"}]}
    data.update(changes)
    return data


BAD_INPUT = [
    ("negative price", {"periods": [{"name": "p", "price": "-0.1", "windows": WINDOWS_ALL}]},
     "periods[0].price", "negative"),
    ("overlapping windows", {"periods": [{"name": "a", "price": "1", "windows": WINDOWS_ALL},
                                         {"name": "b", "price": "2", "windows": [
                                             {"day_type": "working", "start": 18, "end": 21}]}]},
     "periods[1].windows[0]", "overlaps period 'a' on working days at 18h"),
    ("unknown day type", {"periods": [{"name": "a", "price": "1", "windows": [
        {"day_type": "holiday", "start": 0, "end": 24}]}]}, "periods[0].windows[0].day_type", "not a day type"),
    ("hours with no period", {"periods": [{"name": "a", "price": "1", "windows": WINDOWS_ALL[:2]}]},
     "periods", "Sundays and holidays 00h–01h are in no period"),
    ("end before start", {"periods": [{"name": "a", "price": "1", "windows": [
        {"day_type": "working", "start": 21, "end": 18}]}]}, "periods[0].windows[0].end", "after start"),
    ("hour out of range", {"periods": [{"name": "a", "price": "1", "windows": [
        {"day_type": "working", "start": 0, "end": 25}]}]}, "periods[0].windows[0].end", "between 1 and 24"),
    ("tier bound not increasing", {"tiers": [{"up_to": "10", "price": "1"}, {"up_to": "10", "price": "2"},
                                             {"up_to": None, "price": "3"}]},
     "tiers[1].up_to", "greater than the tier before (10)"),
    ("last tier bounded", {"tiers": [{"up_to": "10", "price": "1"}, {"up_to": "20", "price": "2"}]},
     "tiers[1].up_to", "no upper bound"),
    ("tax over 100 %", {"taxes": [{"name": "ICMS", "rate": "118"}]}, "taxes[0].rate", "at most 100"),
    ("tax twice", {"taxes": [{"name": "ICMS", "rate": "1"}, {"name": "icms", "rate": "2"}]}, "taxes[1].name", "twice"),
    ("thousands separator", {"fixed_fee": "1.234,56"}, "fixed_fee", "not a number"),
    ("too many places", {"minimum_charge": "0.123456789012"}, "minimum_charge", "decimal places"),
    ("bad date", {"valid_from": "16/11/2026"}, "valid_from", "YYYY-MM-DD"),
    ("far year", {"valid_from": "0026-11-16"}, "valid_from", "between 2000 and 2100"),
    ("instant", {"valid_from": datetime(2026, 11, 16, tzinfo=UTC)}, "valid_from", "not a date"),
    ("other currency", {"currency": "USD"}, "currency", "only BRL"),
    ("NaN", {"fixed_fee": float("nan")}, "fixed_fee", "not a number"),
]


@pytest.mark.parametrize("changes, field, message", [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_trf012_bad_input_names_the_field(changes, field, message):
    with pytest.raises(TariffInputError) as caught:
        parse_version(version_input(**changes))
    assert caught.value.field == field
    assert message in caught.value.message


def test_trf013_good_input_reads_commas_and_floats_exactly():
    version = parse_version(version_input(fixed_fee=12.3))
    assert version.fixed_fee == D("12.3") and version.minimum_charge == D("45.5")
    assert version.periods[0].price == D("0.85")
    assert [t.up_to for t in version.tiers] == [D("10"), D("20"), None]
    assert parse_decimal("0", "x") == 0 and str(parse_decimal("-0", "x")) == "0"
    assert parse_surcharge({"month": "2026-11", "value": "0,01885"}).month == date(2026, 11, 1)
    with pytest.raises(TariffInputError, match="month: give a month"):
        parse_surcharge({"month": "2026-11-02", "value": "1"})
    assert to_plain(version)["fixed_fee"] == "12.3"
    assert parse_tariff({"name": " Branca ", "holiday_subdivision": "sp"}) == ("Branca", "SP")
    for bad, field in ((None, "tariff"), ({"name": ""}, "name"), ({"name": "x", "holiday_subdivision": "XX"},
                                                                  "holiday_subdivision")):
        with pytest.raises(TariffInputError) as caught:
            parse_tariff(bad)
        assert caught.value.field == field
    with pytest.raises(TariffInputError, match="surcharge: must be an object"):
        parse_surcharge(["2026-11", "1"])


# --------------------------------------------------------------------------- money

def test_trf014_format_brl():
    assert format_brl(D("1234.56")) == "R$ 1.234,56"
    assert format_brl(D("1234.565"), "en") == "R$1,234.56"  # half to even (NBR 5891)
    assert format_brl(D("0.015")) == "R$ 0,02"
    assert format_brl(D("-3.2")) == "-R$ 3,20"
    assert format_brl(None) == "—"


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False), min_size=1, max_size=40))
def test_trf015_split_centavos_adds_up_to_the_rounded_total(values):
    shown = split_centavos(values)
    assert sum(shown, D(0)) == to_centavos(sum(values, D(0)))
    assert all(abs(s - v) < D("0.01") for s, v in zip(shown, values))


def test_trf016_a_state_holiday_counts_only_for_tariffs_of_that_state():
    july = TariffVersion(date(2026, 7, 1), periods=V1.periods)
    usage = [Usage(1, at(date(2026, 7, 9), 19), D("1"))]  # a Thursday; Revolução Constitucionalista in SP
    national = cost_lines(usage, [july], [], SAO_PAULO)
    sao_paulo = cost_lines(usage, [july], [], SAO_PAULO, subdivision="SP")
    assert [x.label for x in national if x.component == ENERGY] == ["ponta"]
    assert [x.label for x in sao_paulo if x.component == ENERGY] == ["fora de ponta"]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-30, 30) | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FIELDS = st.sampled_from(["valid_from", "fixed_fee", "minimum_charge", "periods", "tiers", "taxes", "currency"])
SCALAR = st.none() | st.integers(-2, 30) | st.sampled_from(["", "0", "1,5", "-1", "24", "working", "saturday", "x"])


def objects(keys: list[str], value) -> st.SearchStrategy:
    return st.lists(st.dictionaries(st.sampled_from(keys), value, max_size=len(keys)), max_size=3)


WINDOWS = objects(["day_type", "start", "end"], SCALAR)
NESTED = st.fixed_dictionaries({}, optional={
    "periods": objects(["name", "price", "windows"], SCALAR | WINDOWS),
    "tiers": objects(["up_to", "price"], SCALAR), "taxes": objects(["name", "rate"], SCALAR)})


@hypothesis_settings(max_examples=60, deadline=None)
@given(base=st.just(version_input()), changes=st.dictionaries(FIELDS, JSON, max_size=3) | NESTED)
def test_trf017_any_json_gives_a_version_or_a_tariff_input_error(base, changes):
    try:
        version = parse_version({**base, **changes})
    except TariffInputError as error:
        assert error.field and error.message
    else:
        assert isinstance(version, TariffVersion)
