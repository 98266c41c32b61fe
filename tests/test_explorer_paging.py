"""Issue 16: the explorer sends the browser less for a whole fleet. Real PostgreSQL, real app, no browser.

The totals grid is paged and sorted by the database (queries.consumption.device_totals_page), the device
dropdown lists the chosen devices and the matches of what is typed (queries.devices.search_device_options),
the store keeps only what the chart needs (explorer.model.browser_store), and the downloads are rebuilt from
the data layer with every device. Bad pages, sizes and columns are refused with a clear error.
"""
from __future__ import annotations

import base64
import io
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from tds_dash import periods
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.db import session_scope
from tds_dash.queries import consumption, devices
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.conftest import ensure_test_user
from tests.explorer_data import write_history
from tests.test_explorer_queries import ZONE, energy_id, loaded  # noqa: F401 -- the fixture
from tests.test_security_data import post_callback
from tests.test_tenant_isolation import signed_in_client

UTC = timezone.utc
PERIOD = periods.Period(date(2026, 3, 1), date(2026, 3, 3), ZONE)


def page(database, offset=0, limit=20, sort="consumption", descending=True, scope=ALL_ACCOUNTS,
         selection=Selection()):
    with session_scope(database.engine()) as conn:
        return consumption.device_totals_page(conn, scope, selection, energy_id(database), "day", PERIOD.start,
                                              PERIOD.end, ZONE, offset, limit, sort, descending)


def options(database, text="", chosen=(), limit=50, scope=ALL_ACCOUNTS, accounts=()):
    with session_scope(database.engine()) as conn:
        rows = devices.search_device_options(conn, scope, accounts, (), text, chosen, limit)
    return [f"{row['gateway']}/{row['code']}" for row in rows]


def test_exp040_totals_pages_and_sorts_like_the_whole_table(loaded):  # noqa: F811
    write_history(loaded, datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC), timedelta(hours=2))
    with session_scope(loaded.engine()) as conn:
        whole = consumption.device_totals(conn, ALL_ACCOUNTS, Selection(), energy_id(loaded), "day", PERIOD.start,
                                          PERIOD.end, ZONE)
    assert len(whole) == 4  # MED-001 and MED-002 of both gateways
    first, second, past = page(loaded, 0, 3), page(loaded, 3, 3), page(loaded, 9, 3)
    assert first.count == second.count == past.count == 4 and past.rows.empty
    assert list(first.rows["device_id"]) + list(second.rows["device_id"]) == list(whole["device_id"])
    grand = whole["consumption"].sum()
    assert first.grand == pytest.approx(grand)
    assert list(first.rows["share"]) == pytest.approx(list(whole["consumption"][:3] / grand))
    by_device = page(loaded, sort="device", descending=False).rows
    assert list(zip(by_device["gateway"], by_device["code"])) == sorted(zip(whole["gateway"], whole["code"]))
    assert list(page(loaded, sort="device").rows["device_id"]) == list(by_device["device_id"])[::-1]
    assert list(page(loaded, sort="min", descending=False).rows["min"]) == sorted(whole["min"])
    # Scoped in the data layer: another account's devices are neither listed nor counted.
    globex = loaded.scalar("SELECT id FROM accounts WHERE slug = 'globex'")
    scoped = page(loaded, scope=Scope((globex,)))
    assert scoped.count == 2 and set(scoped.rows["account"]) == {"globex"}
    assert page(loaded, scope=Scope((globex,)), selection=Selection((globex + 1000,))).count == 0


@pytest.mark.parametrize("offset, limit, sort, message", [
    (-1, 20, "consumption", "offset must be an integer >= 0"),
    (0, 0, "consumption", "page size must be an integer from 1 to 200"),
    (0, 100_000, "consumption", "page size must be an integer from 1 to 200"),
    (0, True, "consumption", "page size must be an integer from 1 to 200"),
    (0, 20, "name; DROP TABLE devices", "unknown sort column 'name; DROP TABLE devices'"),
    (0, 20, None, "unknown sort column 'None'"),
])
def test_exp041_bad_pages_and_columns_are_refused_clearly(loaded, offset, limit, sort, message):  # noqa: F811
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        page(loaded, offset, limit, sort)


def test_exp042_device_search_lists_matches_and_keeps_the_chosen(loaded):  # noqa: F811
    assert options(loaded) == ["GW-0101/HID-003", "GW-0101/MED-001", "GW-0101/MED-002", "GW-0201/HID-003",
                               "GW-0201/MED-001", "GW-0201/MED-002"]
    assert options(loaded, "med-002") == ["GW-0101/MED-002", "GW-0201/MED-002"]
    assert options(loaded, "0201  MED") == ["GW-0201/MED-001", "GW-0201/MED-002"]  # every word, any order
    assert options(loaded, "%") == [] and options(loaded, "_") == []  # LIKE wildcards are plain text
    hid = loaded.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                        " WHERE g.serial = 'GW-0201' AND d.code = 'HID-003'")
    assert options(loaded, "MED", chosen=[hid], limit=1) == ["GW-0101/MED-001", "GW-0201/HID-003"]
    acme = loaded.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    assert options(loaded, chosen=[hid], scope=Scope((acme,))) == ["GW-0101/HID-003", "GW-0101/MED-001",
                                                                   "GW-0101/MED-002"]  # never outside the scope
    for bad in (0, 201, True):
        with pytest.raises(ValueError, match="limit must be an integer from 1 to 200"):
            options(loaded, limit=bad)


def test_exp043_the_browser_store_keeps_the_chart_and_drops_the_devices():
    from tests.test_explorer_view import _data

    full = explorer_model.to_store(_data(), datetime(2026, 3, 4, tzinfo=UTC))
    full["cost"] = {"status": "none", "currency": "BRL", "devices": {"1": "2.50"}}
    kept = explorer_model.browser_store(full)
    assert "devices" not in kept and "devices" not in kept["cost"] and kept["device_count"] == 3
    assert kept["series"] == full["series"] and kept["previous"] == full["previous"] and kept["total"] == 32.5
    assert explorer_model.change_text(kept, "en") == explorer_model.change_text(full, "en")
    no_compare = explorer_model.browser_store(explorer_model.to_store(_data(False), datetime(2026, 3, 4, tzinfo=UTC)))
    assert explorer_model.change_text(no_compare, "en") == "Total in the period: 32.5 kWh"
    assert explorer_model.to_csv(kept, "bars", ZONE) == explorer_model.to_csv(full, "bars", ZONE)


@pytest.fixture
def signed_in(app, loaded):  # noqa: F811
    write_history(loaded, datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC), timedelta(hours=2))
    ensure_test_user(app.server.extensions["tds"].engine, "test-admin", "admin")
    return app, signed_in_client(app, "test-admin")


VIEW = {"explorer-dates.start_date": "2026-03-01", "explorer-dates.end_date": "2026-03-03",
        "explorer-granularity": "day", "explorer-metric": "energy_kwh", "explorer-mode": "bars"}


def test_exp044_grid_pages_and_downloads_over_http(signed_in):
    app, client = signed_in
    store = post_callback(app, client, "explorer-store.data", {**VIEW, "explorer-interval": 1})["explorer-store"]["data"]
    assert "devices" not in store and store["device_count"] == 4
    rows = post_callback(app, client, "explorer-totals-table.getRowsResponse", {
        **VIEW, "explorer-totals-table.getRowsRequest": {"startRow": 0, "endRow": 2, "sortModel": [
            {"colId": "consumption", "sort": "asc"}]}})["explorer-totals-table"]["getRowsResponse"]
    assert rows["rowCount"] == 4 and len(rows["rowData"]) == 2
    assert rows["rowData"][0]["consumption"] <= rows["rowData"][1]["consumption"]
    assert rows["rowData"][0]["consumption_text"].endswith(" kWh") and "·" in rows["rowData"][0]["device"]
    # The Excel file is read again from the data layer: every device, though the browser holds none.
    data = post_callback(app, client, "explorer-download.data", {**VIEW, "explorer-download-xlsx": 1},
                         "explorer-download-xlsx.n_clicks")["explorer-download"]["data"]
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])))
    assert len(list(book["totais"].values)) == 1 + 4


@pytest.mark.parametrize("request_, status", [
    ({"startRow": -1, "endRow": 20}, 400),
    ({"startRow": 0, "endRow": 100_000}, 400),  # a page too big: refused by the data layer, said
    ({"startRow": 0, "endRow": 20, "sortModel": [{"colId": "password_hash", "sort": "asc"}]}, 400),
    ({"startRow": 0, "endRow": 20, "sortModel": [{"colId": "consumption", "sort": "sideways"}]}, 400),
    ("0-20", 400),
    ({"startRow": 20, "endRow": 20}, 400),  # an empty page
])
def test_exp045_bad_grid_requests_get_a_400_not_a_crash(signed_in, request_, status):
    app, client = signed_in
    key = next(k for k in app.callback_map if "explorer-totals-table.getRowsResponse" in k)
    spec = app.callback_map[key]
    values = {**VIEW, "explorer-totals-table.getRowsRequest": request_}
    body = {"output": key, "outputs": {"id": "explorer-totals-table", "property": "getRowsResponse"},
            "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}", values.get(i["id"]))}
                       for i in spec["inputs"]],
            "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}", values.get(s["id"]))}
                      for s in spec["state"]],
            "changedPropIds": ["explorer-totals-table.getRowsRequest"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_exp046_device_search_over_http_keeps_the_choice(signed_in, loaded):  # noqa: F811
    app, client = signed_in
    chosen = [loaded.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                            " WHERE g.serial = 'GW-0201' AND d.code = 'HID-003'")]
    answer = post_callback(app, client, "explorer-device.options", {
        "explorer-device.search_value": "0101 med-001", "explorer-device.value": chosen},
        "explorer-device.search_value")["explorer-device"]
    assert [o["label"].split(" · ")[0] for o in answer["options"]] == ["GW-0101/MED-001", "GW-0201/HID-003"]
    assert "value" not in answer  # typing never changes the choice (nor refreshes the chart)


def test_ovw040_latest_readings_page_sorts_and_refuses_bad_pages(loaded):  # noqa: F811
    """The overview's latest block a page at a time: the same lines as the whole block, in any column's order."""
    from tds_dash.queries import overview  # noqa: PLC0415 -- beside the explorer's pages on purpose

    now = datetime.now(UTC).replace(microsecond=0)
    write_history(loaded, now - timedelta(hours=6), now, timedelta(minutes=30))

    def latest(offset=0, limit=3, sort="gateway", descending=False, scope=ALL_ACCOUNTS):
        with session_scope(loaded.engine()) as conn:
            return overview.latest_readings_page(conn, scope, ZONE, "energy_kwh", None, offset, limit, sort,
                                                 descending)
    with session_scope(loaded.engine()) as conn:
        whole = overview.fetch_latest_readings(conn, ALL_ACCOUNTS, ZONE)
    (first, count), (second, _) = latest(), latest(3)
    assert count == len(whole) == 4
    assert list(first["device"]) + list(second["device"]) == list(whole["device"])
    assert list(latest(0, 4, "value")[0]["value"]) == sorted(whole["value"])
    assert list(latest(0, 4, "value", True)[0]["value"]) == sorted(whole["value"], reverse=True)
    assert list(latest(0, 4, "gateway", True)[0]["gateway"]) == sorted(whole["gateway"], reverse=True)
    assert latest(8)[0].empty and latest(8)[1] == 4
    acme = loaded.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    rows, acme_count = latest(0, 10, "time", scope=Scope((acme,)))
    assert acme_count == 2 and set(rows["gateway"]) == {"GW-0101"}
    for offset, limit, sort, message in ((-1, 3, "gateway", "offset must be"), (0, 0, "gateway", "page size"),
                                         (0, 10_000, "gateway", "page size"), (0, 3, "ts; --", "unknown sort column")):
        with pytest.raises(ValueError, match=message):
            latest(offset, limit, sort)


def test_exp047_charts_built_without_plotly_checks_equal_the_checked_ones(monkeypatch):
    """figures.trace skips plotly's per-property checks on the first draw's charts: the same JSON either way."""
    import pandas as pd  # noqa: PLC0415

    from tds_dash import figures  # noqa: PLC0415
    from tds_dash.consumption.explorer import figures as explorer_figures  # noqa: PLC0415
    from tests.test_explorer_view import _data  # noqa: PLC0415

    store = explorer_model.to_store(_data(), datetime(2026, 3, 2, 18, tzinfo=UTC))  # the 2nd in progress
    daily = pd.DataFrame({"bucket": pd.to_datetime(["2026-03-01T03:00Z", "2026-03-03T03:00Z"], utc=True),
                          "consumption": [1.5, 2.25]})
    now = datetime(2026, 3, 3, 15, tzinfo=UTC)

    def drawn() -> list[str]:
        return [explorer_figures.explorer_figure(store, mode, ZONE, "pt-BR").to_json() for mode in ("bars", "line")] + [
            figures.consumption_bars(daily, ZONE, "en", "kWh", "day", now, ["R$ 1,00", "R$ 2,00"]).to_json()]
    fast = drawn()
    monkeypatch.setattr(figures, "VALIDATE_TRACES", True)
    assert drawn() == fast
    assert '"pattern"' in fast[0] and "null" in fast[2]  # the hatched bucket; the day without rollups is a gap
