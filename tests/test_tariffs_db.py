"""Tariff CRUD, audit, scoping and cost queries against a real PostgreSQL (the `database` fixture).

Hourly consumption is written straight into consumption_hourly (the rollup pipeline has its own tests),
except in one end-to-end case that goes through the ingest writer to check the attribution rule.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ingest.simulator import build_fleet, provision_fleet
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.tariffs import service
from tds_dash.tariffs.model import ENERGY, FIXED_FEE, TIER, Usage, to_plain
from tds_dash.tariffs.service import Actor, TariffInputError, TariffPermissionError
from tests.tariff_reference import SURCHARGES, VERSIONS, local_instant, reference

D = Decimal
ZONE = ZoneInfo("America/Sao_Paulo")
ADMIN = Actor(None, "test-admin", "admin", "127.0.0.1")
VIEWER = Actor(None, "test-viewer", "viewer")
METRIC = "energy_kwh"


def at(day: date, hour: int = 0) -> datetime:
    return local_instant(day, hour, ZONE)


def version_input(version) -> dict:
    """A sample version as a form or JSON body would send it (decimal strings)."""
    plain = to_plain(version)
    return {"valid_from": plain["valid_from"], "fixed_fee": plain["fixed_fee"],
            "minimum_charge": plain["minimum_charge"],
            "periods": [{"name": p["name"], "price": p["price"],
                         "windows": [{"day_type": w["day_type"], "start": w["start_hour"], "end": w["end_hour"]}
                                     for w in p["windows"]]} for p in plain["periods"]],
            "tiers": plain["tiers"], "taxes": plain["taxes"]}


class Fleet:
    """Two accounts (acme, globex) with two energy meters each, and helpers to write hourly consumption."""

    def __init__(self, database) -> None:
        provision_fleet(database.engine(), build_fleet(["acme", "globex"], 1, 2))
        self.database, self.engine = database, database.engine()
        accounts = dict(database.query("SELECT slug, id FROM accounts"))
        self.acme, self.globex = accounts["acme"], accounts["globex"]
        self.devices = {slug: [row[0] for row in database.query(
            "SELECT id FROM devices WHERE account_id = %s ORDER BY id", (accounts[slug],))] for slug in accounts}
        self.metric_id = database.scalar("SELECT id FROM metrics WHERE name = %s", (METRIC,))

    def put(self, account_id: int, usage: list[Usage]) -> None:
        with psycopg.connect(self.database.dsn) as conn:
            conn.cursor().executemany(
                "INSERT INTO consumption_hourly (device_id, metric_id, bucket, account_id, consumption, min_value,"
                " max_value, sum_value, count, last_value, last_ts) VALUES (%s, %s, %s, %s, %s, 0, 0, 0, 1, 0, %s)",
                [(u.device_id, self.metric_id, u.hour, account_id, float(u.quantity), u.hour) for u in usage])

    def tariff(self, account_id: int, versions=VERSIONS, surcharges=SURCHARGES) -> None:
        with session_scope(self.engine) as conn:
            service.create_tariff(conn, ALL_ACCOUNTS, ADMIN, account_id, METRIC, {"name": "Branca"})
            for version in versions:
                service.save_version(conn, ALL_ACCOUNTS, ADMIN, account_id, METRIC, version_input(version))
            for surcharge in surcharges:
                service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, account_id, METRIC,
                                      {"month": f"{surcharge.month:%Y-%m}", "value": str(surcharge.value),
                                       "label": surcharge.label})

    def breakdown(self, start: datetime, end: datetime, granularity: str, scope: Scope = ALL_ACCOUNTS,
                  account_id: int | None = None, **kwargs):
        with session_scope(self.engine) as conn:
            return service.cost_breakdown(conn, scope, account_id or self.acme, METRIC, start, end, granularity,
                                          **kwargs)


@pytest.fixture
def fleet(database) -> Fleet:
    return Fleet(database)


def sample_usage(devices: list[int]) -> list[Usage]:
    """Every 5th hour of November and December, a different amount per device and hour."""
    start = at(date(2026, 11, 1))
    return [Usage(device, start + timedelta(hours=h), D(h % 11) + D(i) / 4 + D("0.125"))
            for i, device in enumerate(devices) for h in range(0, 61 * 24, 5)]


def test_tdb001_crud_round_trip_with_audit(fleet):
    fleet.tariff(fleet.acme)
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "fixed_fee": "16,50"})
        service.delete_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, "2026-12")
        service.update_tariff(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                              {"name": "Branca SP", "holiday_subdivision": "sp"})
        changed = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
    assert [dataclasses.replace(v, id=None) for v in tariff.versions] == list(VERSIONS)
    assert tariff.surcharges == SURCHARGES
    assert changed.versions[1].fixed_fee == D("16.50") and changed.surcharges == SURCHARGES[:1]
    assert (changed.name, changed.holiday_subdivision) == ("Branca SP", "SP")
    audit = fleet.database.query("SELECT action, entity, account_id, before, after FROM audit_log ORDER BY id")
    assert [(a, e) for a, e, *_ in audit] == [
        ("create", "tariff"), ("create", "tariff_version"), ("create", "tariff_version"),
        ("create", "tariff_surcharge"), ("create", "tariff_surcharge"), ("update", "tariff_version"),
        ("delete", "tariff_surcharge"), ("update", "tariff")]
    assert {row[2] for row in audit} == {fleet.acme}
    update = audit[5]
    assert update[3]["fixed_fee"] == "15" and update[4]["fixed_fee"] == "16.50"  # decimal strings, never floats


def test_tdb002_costs_match_the_reference_and_add_up_at_every_granularity(fleet):
    usage = sample_usage(fleet.devices["acme"])
    fleet.put(fleet.acme, usage)
    fleet.tariff(fleet.acme)
    start, end = at(date(2026, 11, 1)), at(date(2027, 1, 1))
    months = fleet.breakdown(start, end, "month")
    days = fleet.breakdown(start, end, "day")
    hours = [fleet.breakdown(at(date(2026, m, 1)), at(date(2026 + m // 12, m % 12 + 1, 1)), "hour") for m in (11, 12)]
    want = reference(usage, VERSIONS, SURCHARGES, ZONE)
    assert months.total == sum(want.values()) and months.total > 0
    assert days.total == months.total == sum(h.total for h in hours)
    for month in months.buckets:
        first = month.bucket.astimezone(ZONE).date()
        assert month.cost == sum(b.cost for b in days.buckets if b.bucket.astimezone(ZONE).date().month == first.month)
        assert month.quantity == sum(u.quantity for u in usage if u.hour.astimezone(ZONE).month == first.month)
    hourly = {b.bucket: b.cost for h in hours for b in h.buckets}
    for when, cost in hourly.items():
        assert cost == sum(v for (device, bucket), v in want.items() if bucket == when)
    assert months.currency == "BRL" and months.unit == "kWh" and months.unpriced_quantity == 0
    json.dumps(to_plain(months))  # API-ready: decimal strings, ISO times
    assert to_plain(months)["total"] == format(months.total, "f")


def test_tdb003_a_span_from_mid_month_keeps_the_months_running_total(fleet):
    device = fleet.devices["acme"][0]
    fleet.put(fleet.acme, [Usage(device, at(date(2026, 11, d), 12), D("10")) for d in range(1, 15)])
    fleet.tariff(fleet.acme)
    whole = fleet.breakdown(at(date(2026, 11, 1)), at(date(2026, 12, 1)), "day")
    part = fleet.breakdown(at(date(2026, 11, 10)), at(date(2026, 11, 15)), "day")
    assert [b for b in whole.buckets if b.bucket >= at(date(2026, 11, 10))] == list(part.buckets)
    [tenth] = [b for b in part.buckets if b.bucket == at(date(2026, 11, 10))]
    assert [(c.label, c.quantity) for c in tenth.components if c.component == TIER] == [("30.5–100", D("10"))]
    assert not any(c.component == FIXED_FEE for b in part.buckets for c in b.components)
    assert any(c.component == FIXED_FEE for c in whole.buckets[0].components)


def test_tdb004_a_version_from_today_changes_nothing_before_today(fleet):
    usage = sample_usage(fleet.devices["acme"])
    fleet.put(fleet.acme, usage)
    fleet.tariff(fleet.acme)
    start, end, today = at(date(2026, 11, 1)), at(date(2027, 1, 1)), date(2026, 12, 10)
    before = fleet.breakdown(start, end, "day")
    with session_scope(fleet.engine) as conn:
        service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                             {**version_input(VERSIONS[1]), "valid_from": today.isoformat(), "fixed_fee": "99",
                              "periods": [{"name": "única", "price": "2", "windows": [
                                  {"day_type": k, "start": 0, "end": 24}
                                  for k in ("working", "saturday", "sunday_holiday")]}]})
    after = fleet.breakdown(start, end, "day")
    cut = at(today)
    assert [b for b in before.buckets if b.bucket < cut] == [b for b in after.buckets if b.bucket < cut]
    assert [b for b in before.buckets if b.bucket >= cut] != [b for b in after.buckets if b.bucket >= cut]
    labels = {c.label for b in after.buckets if b.bucket >= cut for c in b.components if c.component == ENERGY}
    assert labels == {"única"}


def test_tdb005_another_accounts_tariff_and_consumption_stay_invisible(fleet):
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.tariff(fleet.globex)
    fleet.tariff(fleet.acme)
    acme_only = Scope(account_ids=(fleet.acme,))
    start, end = at(date(2026, 11, 1)), at(date(2026, 12, 1))
    with session_scope(fleet.engine) as conn:
        for call in (lambda: service.get_tariff(conn, acme_only, fleet.globex, METRIC),
                     lambda: service.cost_breakdown(conn, acme_only, fleet.globex, METRIC, start, end, "day"),
                     lambda: service.consumption_with_cost(conn, acme_only, fleet.globex, METRIC, start, end, "day"),
                     lambda: service.save_version(conn, acme_only, ADMIN, fleet.globex, METRIC,
                                                  version_input(VERSIONS[0])),
                     lambda: service.delete_tariff(conn, acme_only, ADMIN, fleet.globex, METRIC)):
            with pytest.raises(TariffInputError) as caught:
                call()
            assert (caught.value.field, caught.value.message) == ("account", "unknown account")
        assert [t.account_id for t in service.list_tariffs(conn, acme_only)] == [fleet.acme]
        # Naming the other account's devices under one's own account yields nothing of theirs.
        theirs = service.cost_breakdown(conn, acme_only, fleet.acme, METRIC, start, end, "day",
                                        device_ids=fleet.devices["globex"])
    assert theirs.buckets == () and theirs.total == 0
    assert fleet.database.scalar("SELECT count(*) FROM tariff_versions v JOIN tariffs t ON t.id = v.tariff_id"
                                 " WHERE t.account_id = %s", (fleet.globex,)) == 2


def test_tdb006_unknown_metric_gauge_missing_or_duplicate_tariff(fleet):
    fleet.tariff(fleet.acme)
    start, end = at(date(2026, 11, 1)), at(date(2026, 12, 1))
    cases = [
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, "nope", start, end, "day"), "metric",
         "unknown metric"),
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, "power_kw", start, end, "day"),
         "metric", "gauge"),
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, "water_m3", start, end, "day"),
         "metric", "no tariff"),
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, 999999, METRIC, start, end, "day"), "account",
         "unknown account"),
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "week"),
         "granularity", "not one of"),
        (lambda conn: service.cost_breakdown(conn, ALL_ACCOUNTS, fleet.acme, METRIC, end, start, "day"), "end",
         "after start"),
        (lambda conn: service.create_tariff(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"name": "x"}), "metric",
         "already has a tariff"),
        (lambda conn: service.delete_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, "2030-01-01"),
         "valid_from", "no version starts"),
        (lambda conn: service.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC,
                                           {**version_input(VERSIONS[0]), "tiers": [{"up_to": "5", "price": "-1"},
                                                                             {"up_to": None, "price": "1"}]}),
         "tiers[0].price", "negative"),
    ]
    for call, field, message in cases:
        with session_scope(fleet.engine) as conn, pytest.raises(TariffInputError) as caught:
            call(conn)
        assert caught.value.field == field and message in caught.value.message, (field, caught.value)


def test_tdb007_viewers_may_read_but_not_write(fleet):
    fleet.tariff(fleet.acme)
    with session_scope(fleet.engine) as conn:
        with pytest.raises(TariffPermissionError):
            service.save_version(conn, ALL_ACCOUNTS, VIEWER, fleet.acme, METRIC, version_input(VERSIONS[0]))
        with pytest.raises(TariffPermissionError):
            service.set_surcharge(conn, ALL_ACCOUNTS, VIEWER, fleet.acme, METRIC, {"month": "2027-01", "value": "1"})
        assert service.get_tariff(conn, Scope(account_ids=(fleet.acme,)), fleet.acme, METRIC).name == "Branca"
    assert fleet.database.scalar("SELECT count(*) FROM audit_log WHERE username = 'test-viewer'") == 0


@pytest.mark.parametrize("statement", [
    "INSERT INTO tariff_periods (version_id, position, name, price) SELECT id, 9, 'x', -1 FROM tariff_versions LIMIT 1",
    ("INSERT INTO tariff_windows (period_id, position, day_type, start_hour, end_hour)"
     " SELECT id, 9, 'holiday', 0, 24 FROM tariff_periods LIMIT 1"),
    ("INSERT INTO tariff_windows (period_id, position, day_type, start_hour, end_hour)"
     " SELECT id, 9, 'working', 20, 18 FROM tariff_periods LIMIT 1"),
    "INSERT INTO tariff_tiers (version_id, position, up_to, price) SELECT id, 9, 0, 1 FROM tariff_versions LIMIT 1",
    "INSERT INTO tariff_taxes (version_id, position, name, rate) SELECT id, 9, 'x', 101 FROM tariff_versions LIMIT 1",
    "UPDATE tariff_versions SET fixed_fee = -0.01",
    "UPDATE tariff_versions SET currency = 'USD'",
    "INSERT INTO tariff_surcharges (tariff_id, month, value) SELECT id, '2027-01-02', 1 FROM tariffs",
], ids=["negative-price", "day-type", "window-order", "tier-bound", "tax-rate", "fee", "currency", "month"])
def test_tdb008_the_schema_rejects_nonsense(fleet, statement):
    fleet.tariff(fleet.acme)
    with pytest.raises(psycopg.errors.CheckViolation):
        fleet.database.execute(statement)


def test_tdb009_consumption_with_cost_per_device(fleet):
    usage = sample_usage(fleet.devices["acme"])
    fleet.put(fleet.acme, usage)
    start, end = at(date(2026, 11, 1)), at(date(2027, 1, 1))
    with session_scope(fleet.engine) as conn:
        uncosted = service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "month")
    assert {row.cost for row in uncosted} == {None}
    assert sum(row.quantity for row in uncosted) == sum(u.quantity for u in usage)
    fleet.tariff(fleet.acme)
    with session_scope(fleet.engine) as conn:
        rows = service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, start, end, "month")
    assert {row.device_id for row in rows} == set(fleet.devices["acme"]) and len(rows) == 4
    assert sum(row.cost for row in rows) == fleet.breakdown(start, end, "month").total
    assert [(r.bucket, r.device_id) for r in rows] == sorted((r.bucket, r.device_id) for r in rows)


def test_tdb010_readings_through_the_ingest_price_the_hour_of_the_later_reading(fleet):
    from tests.test_consumption import prepare_device, write

    prepare_device(fleet.database, "M-PEAK")
    # Working day 26/11: 17:30 → 18:30 local. The 2 kWh increase counts in the 18 h hour (peak, V2: 1.35).
    half_hour = timedelta(minutes=30)
    first, second = at(date(2026, 11, 26), 17) + half_hour, at(date(2026, 11, 26), 18) + half_hour
    assert write(fleet.database, str(ZONE), [[(first, 100.0)], [(second, 102.0)]], "M-PEAK") == []
    fleet.tariff(fleet.acme)
    result = fleet.breakdown(at(date(2026, 11, 26), 17), at(date(2026, 11, 26), 20), "hour")
    assert [b.bucket for b in result.buckets] == [at(date(2026, 11, 26), 17), at(date(2026, 11, 26), 18)]
    peak = result.buckets[1]
    assert [(c.label, c.quantity, c.cost) for c in peak.components if c.component == ENERGY] == [
        ("ponta", D("2"), D("2.70"))]


def test_tdb011_the_tariffs_state_holidays_price_its_hours(fleet):
    device = fleet.devices["acme"][0]
    fleet.put(fleet.acme, [Usage(device, at(date(2026, 7, 9), 19), D("1"))])  # Thursday; a holiday in SP
    july = dataclasses.replace(VERSIONS[0], valid_from=date(2026, 7, 1))
    fleet.tariff(fleet.acme, versions=(july,), surcharges=())
    day = (at(date(2026, 7, 9)), at(date(2026, 7, 10)))

    def energy_labels():
        [bucket] = fleet.breakdown(*day, "day").buckets
        return [c.label for c in bucket.components if c.component == ENERGY]

    assert energy_labels() == ["ponta"]
    with session_scope(fleet.engine) as conn:
        service.update_tariff(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"name": "SP", "holiday_subdivision": "SP"})
    assert energy_labels() == ["fora de ponta"]
