"""Dash's layout request leaves from the page's <head>, while Dash's scripts still evaluate (issue 16).

tds_dash/early_layout.py: an inline script (allowed by its CSP hash) sends the GET of `_dash-layout` at
once and hands its response to the renderer's fetch of the same URL: one request, sent before the scripts
have run, and the page draws as before.
"""
from __future__ import annotations

import pytest

from tds_dash import early_layout
from tests.helpers import free_port, wait_until
from tests.test_page_container import drawn, explorer_app  # noqa: F401
from tests.test_tenant_isolation import signed_in_client, two_tenants  # noqa: F401


def test_elr001_the_script_is_first_in_head_and_allowed_by_its_hash_only(two_tenants):  # noqa: F811
    app, _ = two_tenants
    client = signed_in_client(app, "acme-viewer")
    response = client.get("/explorer")
    html = response.get_data(as_text=True)
    head = html.split("<head>", 1)[1]
    assert head.lstrip().startswith(f"<script>{early_layout.script('/')}</script>")
    policy = response.headers["Content-Security-Policy"]
    assert early_layout.script_hash("/") in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.browser
def test_elr002_one_layout_request_sent_before_the_scripts_have_run_and_the_chart_draws(dash_duo, explorer_app):  # noqa: F811
    dash_duo.start_server(explorer_app, port=free_port())
    driver = dash_duo.driver
    for _ in range(2):  # the second load is the warm one (scripts from the cache)
        driver.get(dash_duo.server_url + "/explorer?preset=last_7_days")
        wait_until(lambda: drawn(dash_duo, "explorer-chart"), timeout=30, message="the explorer's chart")
    layouts = driver.execute_script("return performance.getEntriesByType('resource')"
                                    ".filter(e => e.name.endsWith('/_dash-layout')).map(e => e.startTime);")
    interactive = driver.execute_script("return performance.getEntriesByType('navigation')[0].domInteractive;")
    assert len(layouts) == 1 and layouts[0] < interactive, (layouts, interactive)
    dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
    assert dash_duo.get_logs() == []  # no CSP violation, no fetch error
