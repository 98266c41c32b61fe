"""Cost everywhere consumption is: explorer (totals, comparison, CSV/Excel), device page and overview bars,
each against /api/v1 (the same tariffs service) on a real PostgreSQL, and never across accounts."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from tds_dash import i18n, periods
from tds_dash.consumption import device_cost, month_cost
from tds_dash.consumption.explorer import cost as explorer_cost
from tds_dash.consumption.explorer import cost_series, cost_view
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.consumption.explorer import totals as explorer_totals
from tds_dash.db import session_scope
from tds_dash.queries import devices as device_queries
from tds_dash.queries import explorer
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.explorer_data import api_token
from tests.test_tariffs_db import METRIC, ZONE, Fleet, at, sample_usage

NOW = at(date(2026, 12, 10), 15)
NOVEMBER = periods.Period(date(2026, 11, 1), date(2026, 11, 30), ZONE)

# The daily and monthly rollups of what Fleet.put wrote hourly (the explorer's kWh reads them).
ROLLUP = """
INSERT INTO {target} (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value,
                      count, last_value, last_ts)
SELECT device_id, metric_id, date_trunc('{unit}', bucket, 'America/Sao_Paulo'), max(account_id), sum(consumption),
       min(min_value), max(max_value), sum(sum_value), sum(count)::integer, max(last_value), max(last_ts)
FROM {source} GROUP BY 1, 2, 3
"""


def roll_up(database) -> None:
    database.execute(ROLLUP.format(target="consumption_daily", unit="day", source="consumption_hourly"))
    database.execute(ROLLUP.format(target="consumption_monthly", unit="month", source="consumption_daily"))


@pytest.fixture
def priced(app, client, database):
    """acme with the sample tariff, globex with usage and no tariff, rolled up; API tokens."""
    fleet = Fleet(database)
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.tariff(fleet.acme)
    roll_up(database)
    return fleet, client, app


def explorer_store(fleet: Fleet, scope: Scope, selection: Selection = Selection(), period=NOVEMBER,
                   granularity: str = "day", compare: bool = True) -> dict:
    with session_scope(fleet.engine) as conn:
        data = explorer.fetch_explorer(conn, scope, selection, METRIC, period, granularity, compare, NOW)
        return explorer_cost.with_cost(explorer_model.to_store(data, NOW),
                                       explorer_cost.price_selection(conn, scope, selection, data, NOW))


def api_cost(client, headers, slug: str, first: str, last: str, granularity: str) -> dict:
    response = client.get("/api/v1/cost", headers=headers, query_string={
        "account": slug, "metric": METRIC, "from": first, "to": last, "granularity": granularity})
    assert response.status_code == 200, response.json
    return response.json


def test_ecost001_explorer_totals_comparison_and_csv_equal_the_api(priced):
    fleet, client, app = priced
    admin = api_token(app, "cost-admin")
    store = explorer_store(fleet, ALL_ACCOUNTS)
    cost = store["cost"]
    assert cost["status"] == "partial"  # globex has consumption but no tariff
    api = api_cost(client, admin, "acme", "2026-11-01", "2026-12-01", "day")
    assert Decimal(cost["total"]) == Decimal(api["total"]) > 0

    # Per device: the totals' cost equals the sum of /api/v1/consumption?cost=true for that device.
    rows = {r["device_id"]: r for r in cost_view.table_rows(store, "pt-BR")}
    for device in fleet.devices["acme"]:
        data = client.get("/api/v1/consumption", headers=admin, query_string={
            "device": device, "metric": METRIC, "from": "2026-11-01", "to": "2026-12-01", "granularity": "day",
            "cost": "true"}).json["data"]
        want = sum(Decimal(r["cost"]) for r in data)
        assert Decimal(cost["devices"][str(device)]) == want
        assert rows[device]["cost_text"] == month_cost.format_brl(want)
    assert all(rows[d]["cost"] is None and rows[d]["cost_text"] == "—" for d in fleet.devices["globex"])

    # The CSV's R$ column of the total line holds the API's exact cost per day (decimal text, unit in the header).
    table = list(csv.DictReader(io.StringIO(explorer_model.to_csv(store, "line", ZONE, "en"))))
    by_day = {b["bucket"][:10]: Decimal(b["cost"]) for b in api["buckets"]}
    assert {row["Bucket start"][:10]: Decimal(row["Total (R$)"]) for row in table if row["Total (R$)"]} == by_day
    assert "Previous period total (R$)" in table[0]  # titled like the kWh column beside it
    portuguese = explorer_model.to_csv(store, "line", ZONE, "pt-BR").splitlines()[0]
    assert "Total (R$)" in portuguese and "Total do período anterior (R$)" in portuguese

    # Compare on, a finished period: all of November against all of October (nothing priced there).
    compared = cost["previous"]
    assert Decimal(compared["current_total"]) == Decimal(api["total"])
    assert Decimal(compared["previous_total"]) == 0 and compared["change"] is None
    text = cost_view.cost_text(store, "pt-BR")
    assert text.startswith("Custo: " + month_cost.format_brl(Decimal(api["total"])))


def test_ecost002_compared_periods_price_the_same_elapsed_time(priced):
    fleet, client, app = priced
    admin = api_token(app, "cost-admin")
    december = periods.Period(date(2026, 12, 1), date(2026, 12, 31), ZONE)  # running: cut at 10/12 15h
    store = explorer_store(fleet, ALL_ACCOUNTS, period=december)
    compared = store["cost"]["previous"]
    now = api_cost(client, admin, "acme", "2026-12-01", "2026-12-10T15:00-03:00", "day")
    before = api_cost(client, admin, "acme", "2026-11-01", "2026-11-10T15:00-03:00", "day")
    assert Decimal(compared["current_total"]) == Decimal(now["total"])
    assert Decimal(compared["previous_total"]) == Decimal(before["total"])
    assert compared["change"] == pytest.approx(float(Decimal(now["total"]) / Decimal(before["total"]) - 1))
    # The overview's cost card says the same R$ change (periods.compared_spans on both pages).
    with session_scope(fleet.engine) as conn:
        card = month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, NOW, ZONE)
    assert (card.compared, card.previous) == (Decimal(compared["current_total"]), Decimal(compared["previous_total"]))
    note = month_cost.cost_card(month_cost.to_store(card), "pt-BR").children.children.children[2].children
    assert note.startswith(i18n.format_percent(compared["change"], "pt-BR"))
    november = api_cost(client, admin, "acme", "2026-11-01", "2026-12-01", "day")
    priced_days = [Decimal(v) for v in compared["values"] if v is not None]
    assert sum(priced_days) == Decimal(november["total"])  # the dashed line: November day by day


def test_ecost003_a_viewer_never_gets_another_accounts_cost(priced):
    fleet, client, app = priced
    fleet.tariff(fleet.globex)  # now both are priced: each viewer must see only their own
    acme_viewer = api_token(app, "acme-viewer", "viewer", ("acme",))
    acme_only = Scope(account_ids=(fleet.acme,))
    store = explorer_store(fleet, acme_only)
    assert store["cost"]["status"] == "priced"
    assert set(store["cost"]["devices"]) == {str(d) for d in fleet.devices["acme"]}
    acme = api_cost(client, acme_viewer, "acme", "2026-11-01", "2026-12-01", "day")
    assert Decimal(store["cost"]["total"]) == Decimal(acme["total"])
    # Naming the other account in the selection gets nothing, exactly as an account that does not exist.
    foreign = explorer_store(fleet, acme_only, Selection(account_ids=(fleet.globex,)))
    assert foreign["cost"]["status"] == "none" and foreign["devices"] == []
    with session_scope(fleet.engine) as conn:
        globex_device = device_queries.find_device(conn, ALL_ACCOUNTS, fleet.devices["globex"][0])
        charts = device_queries.fetch_device_charts(conn, ALL_ACCOUNTS, globex_device["id"], NOVEMBER)
        assert device_cost.device_costs(conn, acme_only, globex_device, charts, NOVEMBER) == {}
        assert month_cost.monthly_costs(conn, Scope(account_ids=(9999,)), METRIC, NOW, ZONE) is None


def test_ecost004_device_page_cost_per_bucket_equals_the_api(priced):
    fleet, client, app = priced
    admin = api_token(app, "cost-admin")
    device_id = fleet.devices["acme"][1]
    with session_scope(fleet.engine) as conn:
        device = device_queries.find_device(conn, ALL_ACCOUNTS, device_id)
        charts = device_queries.fetch_device_charts(conn, ALL_ACCOUNTS, device_id, NOVEMBER)
        costs = device_cost.device_costs(conn, ALL_ACCOUNTS, device, charts, NOVEMBER)
    api = client.get("/api/v1/consumption", headers=admin, query_string={
        "device": device_id, "metric": METRIC, "from": "2026-11-01", "to": "2026-12-01", "granularity": "day",
        "cost": "true"}).json["data"]
    got = {bucket: cost for bucket, cost in costs[METRIC].items() if cost}
    assert {pd.Timestamp(b).tz_convert("UTC") for b in got} == {pd.Timestamp(r["bucket"]).tz_convert("UTC") for r in api}
    assert sum(got.values()) == sum(Decimal(r["cost"]) for r in api)
    hover = device_cost.bar_costs(costs[METRIC], charts.bars["bucket"], "pt-BR")
    assert len(hover) == len(charts.bars) and all(h.startswith("R$ ") for h in hover)
    total = device_cost.cost_total(costs[METRIC], METRIC, "pt-BR").children
    assert total.startswith("Custo no período: " + month_cost.format_brl(sum(got.values())))


def test_ecost005_overview_monthly_bars_carry_the_months_cost(priced):
    fleet, client, app = priced
    admin = api_token(app, "cost-admin")
    with session_scope(fleet.engine) as conn:
        stored = month_cost.monthly_costs(conn, ALL_ACCOUNTS, METRIC, NOW, ZONE)
    api = api_cost(client, admin, "acme", "2025-12-01", "2027-01-01", "month")
    assert {pd.Timestamp(k): Decimal(v) for k, v in stored.items()} == {
        pd.Timestamp(b["bucket"]): Decimal(b["cost"]) for b in api["buckets"]}
    buckets = pd.Series(pd.to_datetime([at(date(2026, 10, 1)), at(date(2026, 11, 1))], utc=True))
    assert month_cost.bar_costs(stored, buckets, "pt-BR")[0] == "—"
    november = Decimal(next(b["cost"] for b in api["buckets"] if b["bucket"].startswith("2026-11")))
    assert month_cost.bar_costs(stored, buckets, "pt-BR")[1] == month_cost.format_brl(november)


def test_ecost006_excel_has_cost_numbers_with_units_and_escaped_text(priced, database):
    fleet, client, app = priced
    database.execute("UPDATE devices SET name = '=HYPERLINK(\"x\")' WHERE id = %s", (fleet.devices["acme"][0],))
    store = explorer_store(fleet, ALL_ACCOUNTS, compare=False)
    book = openpyxl.load_workbook(io.BytesIO(explorer_model.to_excel(store, "bars", ZONE)))
    totals = list(book["totais"].values)
    header = totals[0]
    assert header[-1] == "Custo (R$)" and header[3] == "Consumo (kWh)"
    by_name = {row[1]: row[-1] for row in totals[1:]}
    assert "'=HYPERLINK(\"x\")" in by_name  # text never becomes a formula
    assert by_name["'=HYPERLINK(\"x\")"] == pytest.approx(float(store["cost"]["devices"][str(fleet.devices["acme"][0])]))
    chart = list(book["gráfico"].values)
    assert any(title.endswith(" (R$)") for title in chart[0])
    line = list(openpyxl.load_workbook(io.BytesIO(explorer_model.to_excel(store, "line", ZONE)))["gráfico"].values)
    assert "Total (R$)" in line[0] and "total (R$)" not in line[0]
    money = [cell for row in chart[1:] for title, cell in zip(chart[0], row) if title.endswith("(R$)") and cell]
    assert money and all(isinstance(cell, (int, float)) for cell in money)


def test_ecost007_the_switch_is_disabled_with_a_reason_without_a_tariff(priced):
    fleet, _client, _app = priced
    store = explorer_store(fleet, ALL_ACCOUNTS, Selection(account_ids=(fleet.globex,)), compare=False)
    options, value, note = cost_view.measure_state(store, cost_view.COST, "pt-BR")
    assert value == cost_view.QUANTITY and options[1]["disabled"] and "tarifa" in note
    assert cost_view.measure_state(store, cost_view.COST, "en")[2].startswith("R$ unavailable")
    assert cost_series.cost_columns(store, "bars") == {} and cost_view.cost_text(store, "pt-BR") is None
    priced_store = explorer_store(fleet, ALL_ACCOUNTS, compare=False)
    options, value, note = cost_view.measure_state(priced_store, cost_view.COST, "pt-BR")
    assert value == cost_view.COST and not options[1]["disabled"] and "sem tarifa" in note
    figure = cost_view.cost_figure(priced_store, "bars", ZONE, "pt-BR")
    assert figure.layout.yaxis.title.text == "R$"
    hover = [text for trace in figure.data for text in trace.hovertext]
    assert any("R$ " in text for text in hover)
    with pytest.raises(ValueError):
        cost_series.to_decimal("NaN")


def test_ecost008_the_store_survives_a_tampered_cost():
    store = {"buckets": ["2026-11-01T03:00:00+00:00"], "series": [{"device_id": 1, "label": "a", "values": [1.0]}],
             "devices": [{"device_id": 1}], "cost": {"status": "priced", "series": [["=1+1"]], "devices": {}}}
    with pytest.raises(ValueError):
        cost_series.charted_costs(store, "bars")
    assert cost_series.device_costs(store) == [None]


def test_ecost009_hour_buckets_add_up_to_the_day(priced):
    fleet, _client, _app = priced
    day = periods.Period(date(2026, 11, 3), date(2026, 11, 3), ZONE)
    hours = explorer_store(fleet, ALL_ACCOUNTS, period=day, granularity="hour", compare=False)
    days = explorer_store(fleet, ALL_ACCOUNTS, period=day, granularity="day", compare=False)
    line = cost_series.charted_costs(hours, "line")[0]["values"]
    assert sum(v for v in line if v is not None) == Decimal(days["cost"]["total"]) > 0
    assert len(line) == 24 and datetime.fromisoformat(hours["buckets"][0]) == at(date(2026, 11, 3))
    assert timedelta(hours=23) == datetime.fromisoformat(hours["buckets"][-1]) - at(date(2026, 11, 3))


def test_ecost010_a_device_or_gateway_picked_costs_what_it_does_in_the_whole_account(priced):
    fleet, _client, _app = priced
    whole = explorer_store(fleet, ALL_ACCOUNTS, period=NOVEMBER, granularity="month", compare=False)["cost"]
    device = fleet.devices["acme"][1]
    one = explorer_store(fleet, ALL_ACCOUNTS, Selection(device_ids=(device,)), NOVEMBER, "month", False)["cost"]
    assert set(one["devices"]) == {str(device)} and one["devices"][str(device)] == whole["devices"][str(device)]
    assert one["total"] == one["devices"][str(device)] != whole["total"]
    gateway = fleet.database.scalar("SELECT gateway_id FROM devices WHERE id = %s", (device,))
    by_gateway = explorer_store(fleet, ALL_ACCOUNTS, Selection(gateway_ids=(gateway,)), NOVEMBER, "month",
                                False)["cost"]
    assert by_gateway["devices"] == {k: whole["devices"][k] for k in by_gateway["devices"]}


def test_ecost011_the_paged_totals_grid_says_what_the_whole_table_says(priced):
    """Issue 16: the grid's pages (cost priced per page) hold the rows, texts and R$ of the full table."""
    fleet, _client, _app = priced
    store = explorer_store(fleet, ALL_ACCOUNTS, compare=False)
    want = {row["device_id"]: row for row in cost_view.table_rows(store, "pt-BR")}
    got = {}
    with session_scope(fleet.engine) as conn:
        for start in range(0, len(want), 2):
            page = explorer_totals.grid_page(conn, ALL_ACCOUNTS, Selection(), METRIC, NOVEMBER, "day", NOW,
                                             {"startRow": start, "endRow": start + 2}, "pt-BR")
            assert page["rowCount"] == len(want) and len(page["rowData"]) <= 2
            got.update({row["device_id"]: row for row in page["rowData"]})
    assert set(got) == set(want) and any(row["cost"] for row in want.values())
    for device, row in want.items():
        for field in ("device", "gateway", "account", "consumption_text", "share_text", "cost_text"):
            assert got[device][field] == row[field], (device, field)
        assert got[device]["share"] == pytest.approx(row["share"])
        assert got[device]["cost"] == (None if row["cost"] is None else pytest.approx(row["cost"]))
    browser = explorer_model.browser_store(store)  # the browser keeps the status and totals, not the devices
    assert browser["cost"]["status"] == store["cost"]["status"] and "devices" not in browser["cost"]
    assert cost_view.cost_text(browser, "pt-BR") == cost_view.cost_text(store, "pt-BR")
