"""The overview's cost card: month_cost against a real PostgreSQL, and the card's R$ text."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tds_dash.consumption import month_cost
from tds_dash.consumption import overview as overview_model
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.test_tariffs_db import Fleet, at, sample_usage

ZONE = ZoneInfo("America/Sao_Paulo")
NOW = at(date(2026, 12, 10), 14) + timedelta(minutes=30)  # 10/12 14:30 local: the 14h hour (with usage) in progress


@pytest.fixture
def fleet(database) -> Fleet:
    fleet = Fleet(database)
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.tariff(fleet.acme)
    return fleet


def cost_of(fleet: Fleet, scope: Scope, gateway_id: int | None = None):
    with session_scope(fleet.engine) as conn:
        return month_cost.month_cost(conn, scope, "energy_kwh", NOW, ZONE, gateway_id)


def test_ocost001_this_month_so_far_vs_the_same_part_of_last_month(fleet):
    got = cost_of(fleet, ALL_ACCOUNTS)  # globex has no tariff: only acme is priced
    current = fleet.breakdown(at(date(2026, 12, 1)), at(date(2026, 12, 10), 15), "month").total
    # The change leaves the hour in progress out on both sides (periods.compared_spans, as the kWh card).
    compared = fleet.breakdown(at(date(2026, 12, 1)), at(date(2026, 12, 10), 14), "month").total
    previous = fleet.breakdown(at(date(2026, 11, 1)), at(date(2026, 11, 10), 14), "month").total
    assert (got.current, got.compared, got.previous, got.accounts) == (current, compared, previous, 1)
    assert current > compared > 0 and previous > 0 and compared != previous
    assert cost_of(fleet, ALL_ACCOUNTS.restrict(fleet.acme)) == got


def test_ocost002_no_card_without_a_tariff_in_view(fleet):
    assert cost_of(fleet, ALL_ACCOUNTS.restrict(fleet.globex)) is None
    assert cost_of(fleet, Scope(account_ids=(fleet.globex,))) is None
    assert month_cost.cost_card(None, "pt-BR") is None


def test_ocost003_a_gateway_prices_only_its_devices(fleet):
    gateway = fleet.database.scalar("SELECT gateway_id FROM devices WHERE id = %s", (fleet.devices["acme"][0],))
    got = cost_of(fleet, ALL_ACCOUNTS, gateway)
    devices = [d for d in fleet.devices["acme"]
               if fleet.database.scalar("SELECT gateway_id FROM devices WHERE id = %s", (d,)) == gateway]
    want = fleet.breakdown(at(date(2026, 12, 1)), at(date(2026, 12, 10), 15), "month", device_ids=devices).total
    assert got.current == want


def test_ocost004_the_card_shows_brl_in_both_languages_and_survives_a_bad_store():
    stored = month_cost.to_store(month_cost.MonthCost(Decimal("1234.565"), Decimal("1000"), 1, Decimal("1200")))
    assert stored == {"current": "1234.565", "previous": "1000", "compared": "1200"}
    card = month_cost.cost_card(stored, "pt-BR")
    texts = {c.id: c.children for c in card.children.children.children if getattr(c, "id", None)}
    assert texts["overview-card-cost-value"] == "R$ 1.234,56"  # the month so far; the change is to the cut
    assert texts["overview-card-cost-note"].startswith("+20,0%") and "R$ 1.000,00" in texts["overview-card-cost-note"]
    older = month_cost.cost_card({"current": "1234.565", "previous": "1000"}, "pt-BR")  # a store from before
    assert older.children.children.children[2].children.startswith("+23,5%")
    english = month_cost.cost_card(stored, "en").children.children.children[1].children
    assert english == "R$1,234.56"
    zero = month_cost.cost_card({"current": "5", "previous": "0"}, "en").children.children.children[2].children
    assert zero == "no data for last month"
    with pytest.raises(ValueError):
        month_cost.cost_card({"current": "NaN", "previous": "x"}, "en")


def test_ocost005_overview_cards_include_the_cost_card_only_with_a_cost():
    store = {"metric": "energy_kwh", "fetched_at": NOW.isoformat(), "offline": [],
             "cards": {"gateways_online": 1, "gateways_total": 1, "devices_total": 2, "readings_24h": 3,
                       "month_consumption": 10.0, "previous_same_period": 8.0}}
    ids = [getattr(c, "id", None) for c in overview_model.cards({**store, "cost": None}, "pt-BR") if c is not None]
    assert month_cost.CARD_ID not in ids
    priced = overview_model.cards({**store, "cost": {"current": "12.5", "previous": "10"}}, "pt-BR")
    assert month_cost.CARD_ID in [getattr(c, "id", None) for c in priced if c is not None]
