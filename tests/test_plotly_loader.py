"""plotly.js's basic partial bundle, served fingerprinted and loaded ahead on chart pages only (issue 16).

tds_dash/plotly_loader.py serves npm's plotly.js-basic-dist-min instead of the plotly package's full bundle:
it must be the same plotly.js version, hold every trace type the app draws, and be started before the
layout request exactly on the pages that draw charts (the rest load it only if a graph asks).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import dash
import plotly.offline
import plotly.utils
import pytest

from tds_dash import plotly_loader
from tests.conftest import ensure_test_user
from tests.helpers import free_port, wait_until
from tests.test_page_container import drawn, explorer_app, served_layout  # noqa: F401
from tests.test_tenant_isolation import signed_in_client, two_tenants  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def test_plt001_the_bundle_is_the_plotly_packages_plotly_js_version():
    header = plotly_loader.BUNDLE.read_text(encoding="utf-8")[:200]
    assert f"plotly.js (basic - minified) v{plotly.offline.get_plotlyjs_version()}" in header


def test_plt002_every_trace_the_app_builds_is_a_type_of_the_bundle():
    """Figures are built with go.<Trace>(…) only (no plotly.express, no trace dicts): their names are the types."""
    sources = [path for folder in ("tds_dash", "pages") for path in (ROOT / folder).rglob("*.py")]
    used = {name.lower() for path in sources
            for name in re.findall(r"\bgo\.([A-Z][A-Za-z]*)\b", path.read_text(encoding="utf-8"))} - {"figure"}
    assert used and used <= plotly_loader.TRACE_TYPES, used
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"plotly\.express|from plotly import express|make_subplots|figure_factory", text), path


def test_plt003_every_page_whose_layout_holds_a_graph_is_registered_with_charts(two_tenants):  # noqa: F811
    app, other = two_tenants
    ensure_test_user(app.server.extensions["tds"].engine, "plt-admin", "admin", ())
    client = signed_in_client(app, "plt-admin")
    values = {"device_id": str(other["device"]), "serial": "GW-SECRET0101"}
    with_graphs, flagged = set(), set()
    for page in dash.page_registry.values():
        path = re.sub(r"<([^>]+)>", lambda m: values[m.group(1)], page["path_template"] or page["path"])
        text = json.dumps(served_layout(client, path), cls=plotly.utils.PlotlyJSONEncoder)
        if '"type": "Graph"' in text:
            with_graphs.add(page["path_template"] or page["path"])
        if page.get("charts"):
            flagged.add(page["path_template"] or page["path"])
    # The device and gateway pages draw theirs from a callback's answer, after the layout: flagged as well.
    assert with_graphs <= flagged and {"/", "/explorer"} <= with_graphs, (with_graphs, flagged)
    assert flagged - with_graphs == {"/device/<device_id>", "/gateways/<serial>"}, flagged


def test_plt004_the_bundle_is_served_under_its_hash_with_a_years_immutable_cache(two_tenants):  # noqa: F811
    app, _ = two_tenants
    client = signed_in_client(app, "acme-viewer")
    url = plotly_loader.bundle_url("/")
    response = client.get(url)
    assert response.status_code == 200 and response.data == plotly_loader.BUNDLE.read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "Content-Security-Policy" in response.headers
    assert client.get(url.replace(".min.js", "0.min.js")).status_code == 404
    assert plotly_loader.bundle_url("/") in app.renderer


def _plotly_requests(driver) -> list[str]:
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                 ".filter(n => n.includes('plotly') && !n.includes('locale'));")


@pytest.mark.browser
def test_plt005_a_chart_page_loads_the_basic_bundle_once_and_a_page_without_charts_only_when_a_graph_asks(
        dash_duo, explorer_app):  # noqa: F811
    dash_duo.start_server(explorer_app, port=free_port())
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/explorer?preset=last_7_days")
    wait_until(lambda: drawn(dash_duo, "explorer-chart"), timeout=30, message="the explorer's chart")
    requests = _plotly_requests(driver)
    assert len(requests) == 1 and requests[0].endswith(plotly_loader.bundle_url("/")), requests
    assert driver.execute_script("return typeof window.Plotly.newPlot;") == "function"

    driver.get(dash_duo.server_url + "/gateways")
    dash_duo.wait_for_element("#gateways-table")
    assert _plotly_requests(driver) == []
    assert driver.execute_script("return typeof window.Plotly.then;") == "function"  # a graph would load it
    driver.execute_script("window.history.pushState({}, '', '/');"
                          "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));")
    wait_until(lambda: drawn(dash_duo, "overview-monthly-chart"), timeout=30, message="the overview's chart")
    requests = _plotly_requests(driver)
    assert len(requests) == 1 and requests[0].endswith(plotly_loader.bundle_url("/")), requests
    assert dash_duo.get_logs() == []
