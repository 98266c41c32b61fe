"""Issue 15 item 4 in Chromium: the explorer's address follows its controls, and opening it restores the view."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from tds_dash.consumption import ids
from tests.helpers import free_port, wait_until
from tests.test_explorer_browser import click_label, explorer_app  # noqa: F401 -- the fixture

pytestmark = pytest.mark.browser

# The chart as drawn: each trace's type, name and values (what a reopened link must show again).
CHART = ("const g = document.querySelector('#%s .js-plotly-plot');"
         " return g && g.data ? JSON.stringify(g.data.map(t => [t.type, t.name, t.y])) : null;" % ids.EXPLORER_CHART)


def chart(duo):
    text = duo.driver.execute_script(CHART)
    return json.loads(text) if text else None


def checked(duo, radio_id: str) -> str:
    return duo.driver.execute_script(f"return document.querySelector('#{radio_id} input:checked').value;")


def test_ux101_explorer_url_round_trip_and_copy_link(dash_duo, explorer_app):  # noqa: F811
    dash_duo.start_server(explorer_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/explorer")
    dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
    assert dash_duo.find_element(f"#{ids.EXPLORER_COPY}-box").text == "copiar link"
    dash_duo.wait_for_element(f"#{ids.EXPLORER_CHART} .barlayer .point")

    click_label(dash_duo, "Últimos 7 dias")
    click_label(dash_duo, "Linha do total")
    dash_duo.find_element(f"#{ids.EXPLORER_COMPARE}").click()
    query = wait_until(lambda: (lambda q: q if q.get("compare") else None)(
        parse_qs(urlparse(dash_duo.driver.current_url).query)), message="the URL to follow the controls")
    assert query == {"preset": ["last_7_days"], "metric": ["energy_kwh"], "mode": ["line"], "compare": ["1"]}
    assert urlparse(dash_duo.driver.current_url).path == "/explorer"
    wait_until(lambda: len(dash_duo.find_elements(f"#{ids.EXPLORER_CHART} .scatterlayer .trace")) == 2)
    drawn = wait_until(lambda: (lambda c: c if c and len(c) == 2 else None)(chart(dash_duo)))

    # A fresh load of that address: the same controls and the same chart.
    link = dash_duo.driver.current_url
    dash_duo.driver.get("about:blank")
    dash_duo.driver.get(link)
    dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
    assert checked(dash_duo, ids.EXPLORER_PRESET) == "last_7_days"
    assert checked(dash_duo, ids.EXPLORER_MODE) == "line"
    assert dash_duo.find_element(f"#{ids.EXPLORER_COMPARE}").is_selected()
    assert wait_until(lambda: (lambda c: c if c and len(c) == 2 else None)(chart(dash_duo))) == drawn
    assert dash_duo.driver.current_url == link
    assert dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.EXPLORER_COPY}")
