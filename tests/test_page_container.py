"""The page of the browser's address comes drawn in Dash's layout response (issue 16), for the viewer only.

A full load used to wait for three round trips before a chart (layout, Dash's router callback, the page's
store callback): the layout request's Referer names the page, which is rendered there with its first store
and charts (tds_dash/page_container.py, pages/overview.py and pages/explorer.py `layout`). Checked through
the real app (Flask test client, real PostgreSQL) and in Chromium.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import dash
import plotly.utils
import pytest

from tds_dash.consumption import ids
from tests.conftest import ensure_test_user
from tests.explorer_data import FLEET, write_history
from tests.helpers import free_port, settings_for, wait_until
from tests.test_tenant_isolation import assert_no_secret, signed_in_client, two_tenants  # noqa: F401

HOST = "http://localhost"  # the Flask test client's host


def served_layout(client, address: str | None, referrer_host: str = HOST) -> dict:
    headers = {"Referer": referrer_host + address} if address is not None else {}
    response = client.get("/_dash-layout", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def component(layout: dict, component_id: str) -> dict | None:
    """The props of the component with this id in a layout's JSON, or None."""
    if isinstance(layout, dict):
        props = layout.get("props") or {}
        if props.get("id") == component_id:
            return props
        values = list(props.values()) if "props" in layout else list(layout.values())
    elif isinstance(layout, list):
        values = layout
    else:
        return None
    for value in values:
        found = component(value, component_id)
        if found is not None:
            return found
    return None


def drawn_traces(figure: dict) -> list[dict]:
    return [trace for trace in figure.get("data") or [] if trace.get("y") or trace.get("x")]


def test_pgc001_explorer_layout_holds_the_viewers_first_chart_and_nothing_of_another_account(two_tenants):  # noqa: F811
    app, other = two_tenants
    client = signed_in_client(app, "acme-viewer")
    layout = served_layout(client, "/explorer?preset=last_7_days&granularity=day")
    location = component(layout, "_pages_location")
    assert (location["pathname"], location["search"]) == ("/explorer", "?preset=last_7_days&granularity=day")
    store = component(layout, ids.EXPLORER_STORE)["data"]
    assert store["granularity"] == "day" and len(store["buckets"]) == 7
    labels = {series["label"] for series in store["series"]}
    assert labels and all(label.startswith("GW-0101/") for label in labels), labels
    figure = component(layout, ids.EXPLORER_CHART)["figure"]
    assert {trace["name"] for trace in drawn_traces(figure)} >= labels
    assert component(layout, ids.EXPLORER_GRANULARITY_USED)["children"]  # "Mostrando por dia"
    assert component(layout, "_pages_store")["data"]["title"].startswith("Explorador")
    assert_no_secret(json.dumps(layout), "explorer layout")

    # The URL names the other account's account, gateway and device: the layout draws none of it.
    crafted = (f"/explorer?preset=last_7_days&account={other['account']}&gateway={other['gateway']}"
               f"&device={other['device']}&compare=1")
    text = json.dumps(served_layout(client, crafted))
    assert_no_secret(text, "explorer layout for another account's ids")


def test_pgc002_overview_layout_holds_the_viewers_cards_and_charts_only(two_tenants):  # noqa: F811
    app, _ = two_tenants
    client = signed_in_client(app, "acme-viewer")
    layout = served_layout(client, "/")
    store = component(layout, ids.OVERVIEW_STORE)["data"]
    assert store["cards"]["gateways_total"] == 1 and store["cards"]["devices_total"] == 3
    cards = json.dumps(component(layout, ids.OVERVIEW_CARDS)["children"])
    assert "overview-card-devices-value" in cards
    for chart in (ids.OVERVIEW_MONTHLY, ids.OVERVIEW_DAILY):
        assert drawn_traces(component(layout, chart)["figure"]), chart
    assert component(layout, ids.OVERVIEW_UPDATED)["children"].startswith("Atualizado em")
    assert_no_secret(json.dumps(layout), "overview layout")


def test_pgc003_every_page_address_with_another_accounts_ids_leaks_nothing_and_keeps_its_roles(two_tenants):  # noqa: F811
    app, other = two_tenants
    ensure_test_user(app.server.extensions["tds"].engine, "acme-viewer", "viewer", ("acme",))
    client = signed_in_client(app, "acme-viewer")
    query = f"?account={other['account']}&gateway={other['gateway']}&device={other['device']}"
    values = {"device_id": str(other["device"]), "serial": "GW-SECRET0101"}
    rendered = 0
    for page in dash.page_registry.values():
        path = re.sub(r"<([^>]+)>", lambda m: values.get(m.group(1), "x"), page["path_template"] or page["path"])
        layout = served_layout(client, path + query)
        # The address itself is echoed (dcc.Location, the gateway page's serial): what the viewer typed.
        text = json.dumps(layout, cls=plotly.utils.PlotlyJSONEncoder).replace(values["serial"], "")
        assert_no_secret(text, path)
        content = component(layout, "_pages_content")
        if page.get("roles") and "viewer" not in page["roles"]:
            assert "page-restricted" in text, path  # the registry's role guard, as the router applies it
        rendered += bool(content.get("children"))
    assert rendered >= 10


def test_pgc004_without_a_usable_referrer_the_router_renders_the_page(two_tenants):  # noqa: F811
    app, _ = two_tenants
    client = signed_in_client(app, "acme-viewer")
    for layout in (served_layout(client, None), served_layout(client, "/explorer", "http://elsewhere.example"),
                   served_layout(client, "/no-such-page"), served_layout(client, "/explorer?" + "x" * 3000)):
        assert not component(layout, "_pages_content").get("children")
        assert component(layout, "_pages_location").get("pathname") is None  # so it tells the router


def test_pgc005_a_value_axis_has_its_margin_from_its_labels_and_no_second_draw():
    """plotly's automargin (the default template's) drew each chart twice; the left margin is sized instead."""
    from tds_dash import figures

    for values in ([0, 1250], [0, 400_000], [218.0, 232.0]):
        figure = figures.value_axis(figures.go.Figure(), values, "pt-BR", "kWh", from_zero=values[0] == 0)
        labels = figure.layout.yaxis.ticktext
        assert figure.layout.yaxis.automargin is False, values
        assert figure.layout.margin.l >= figures.LEFT_TITLE_PX + figures.LABEL_CHAR_PX * max(map(len, labels))


# Installed before any page script: the Dash outputs of every callback request, in order.
RECORD_CALLBACKS = """
window.__tdsOutputs = [];
const tdsFetch = window.fetch;
window.fetch = function(input, init) {
  try { const body = init && init.body && JSON.parse(init.body); if (body && body.output) {
    window.__tdsOutputs.push(body.output); } } catch (e) {}
  return tdsFetch.apply(this, arguments);
};
"""


@pytest.fixture
def explorer_app(database, mosquitto):
    from ingest import simulator
    from tds_dash.app import create_app

    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(timezone.utc)
    write_history(database, now - timedelta(days=20), now - timedelta(minutes=1), timedelta(hours=2))
    return create_app(settings_for(database, mosquitto, TDS_REFRESH_SECONDS="600"))


def drawn(duo, graph_id: str) -> bool:
    return bool(duo.find_elements(f"#{graph_id} g.trace.bars path, #{graph_id} g.trace.scatter path.js-line"))


@pytest.mark.browser
def test_pgc010_a_reload_draws_the_charts_without_a_callback_and_changes_still_call_back(dash_duo, explorer_app):
    dash_duo.start_server(explorer_app, port=free_port())
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CALLBACKS})
    for address, chart in (("/explorer?preset=last_7_days", ids.EXPLORER_CHART), ("/", ids.OVERVIEW_MONTHLY)):
        driver.get(dash_duo.server_url + address)
        wait_until(lambda: drawn(dash_duo, chart), timeout=30, message=f"{chart} drawn")
        outputs = driver.execute_script("return window.__tdsOutputs;")
        assert not [o for o in outputs if "_pages_content" in o or "-store.data" in o], (address, outputs)
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_UPDATED}", "Atualizado em")
    assert dash_duo.find_elements("#overview-card-devices-value")

    driver.get(dash_duo.server_url + "/explorer?preset=last_7_days")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_GRANULARITY_USED}", "Mostrando por dia")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_TABLE}", "GW-0101/MED-001")  # the grid asked its first page
    dash_duo.driver.find_element("xpath", "//label[normalize-space()='Hoje']").click()  # a change: the store's callback
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_GRANULARITY_USED}", "Mostrando por hora")
    assert any(ids.EXPLORER_STORE in o for o in driver.execute_script("return window.__tdsOutputs;"))
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_pgc011_a_page_rendered_for_another_address_than_the_browsers_is_handed_to_the_router(dash_duo, explorer_app):
    """A Referer trimmed to the site's root (as some privacy extensions do) must not show the overview on /explorer."""
    dash_duo.start_server(explorer_app, port=free_port())
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CALLBACKS})
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Referer": dash_duo.server_url + "/"}})
    try:
        driver.get(dash_duo.server_url + "/explorer?preset=last_7_days")
        dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
        wait_until(lambda: drawn(dash_duo, ids.EXPLORER_CHART), timeout=30, message="the explorer's chart")
        assert not dash_duo.find_elements(f"#{ids.OVERVIEW_MONTHLY}")
        # The layout held the overview (the Referer's page): the router was asked for the address's page.
        assert any("_pages_content" in o for o in driver.execute_script("return window.__tdsOutputs;"))
    finally:
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_pgc012_plotly_js_is_fetched_once_under_its_fingerprinted_url_while_the_layout_is_computed(dash_duo,
                                                                                                   explorer_app):
    dash_duo.start_server(explorer_app, port=free_port())
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/explorer?preset=last_7_days")
    wait_until(lambda: drawn(dash_duo, ids.EXPLORER_CHART), timeout=30, message="the explorer's chart")
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('plotly') &&"
        " !e.name.includes('locale')).map(e => [e.name]);")
    # The basic bundle under its content's hash (tds_dash/plotly_loader.py, tests/test_plotly_loader.py).
    assert len(entries) == 1 and re.search(r"/plotly-basic\.[0-9a-f]{16}\.min\.js$", entries[0][0]), entries
    assert driver.execute_script("return typeof window.Plotly.newPlot;") == "function"
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_pgc013_the_explorers_chart_fits_its_margins_at_its_first_draw(dash_duo, explorer_app):
    """plotly grows a margin its legend or labels do not fit, and then draws the chart again (issue 16)."""
    dash_duo.start_server(explorer_app, port=free_port())
    for address in ("/explorer", "/explorer?preset=today", "/explorer?preset=last_12_months&granularity=month"):
        dash_duo.driver.get(dash_duo.server_url + address)
        wait_until(lambda: drawn(dash_duo, ids.EXPLORER_CHART), timeout=30, message=f"{address} drawn")
        bottom = dash_duo.driver.execute_script(
            f"const gd = document.querySelector('#{ids.EXPLORER_CHART} .js-plotly-plot');"
            " return [gd._fullLayout._size.b, gd._fullLayout.margin.b];")
        assert bottom[0] == bottom[1], (address, bottom)
    assert dash_duo.get_logs() == []
