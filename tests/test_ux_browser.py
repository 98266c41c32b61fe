"""What a Brazilian client sees in a demo: no English component text, phone-sized pages, per-page tab titles."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dash
import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.explorer_data import FLEET, device_id, write_history
from tests.helpers import free_port, settings_for

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Texts that AG Grid, the date pickers, the dropdowns, Dash's 404 page or raw field names show in English.
ENGLISH = ("No Rows To Show", "Page Size", "Page", "to", "of", "Search", "Select", "No options found", "Loading",
           "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December", "Su", "Mo", "Tu", "We", "Th", "Fr", "Sa", "404 - Page not found",
           "Username", "Name", "Role", "Active", "Entity", "Entity_id", "Last_used", "Created", "Revoked",
           "Prefix", "Change", "mostly")
ENGLISH_PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in ENGLISH) + r")\b")


@pytest.fixture
def demo(database, mosquitto):
    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(days=2), now, timedelta(hours=1))
    values = {"device_id": str(device_id(database, "GW-0101", "MED-001")), "serial": "GW-0101"}
    return create_app(settings_for(database, mosquitto)), values


def _page_paths(values: dict) -> list[str]:
    return [re.sub(r"<([^>]+)>", lambda m: values[m.group(1)], page["path_template"] or page["path"])
            for page in dash.page_registry.values()] + ["/no-such-page"]


def _open(duo, path: str) -> None:
    duo.driver.get(duo.server_url + path)
    duo.wait_for_element("#_pages_content > *", timeout=10)
    duo.wait_for_no_elements("._dash-loading", timeout=10)
    time.sleep(0.5)  # the page's first callbacks fill its grids


def _english_on_page(duo) -> list[str]:
    """English words in the page's visible text and in its fields' placeholders and labels."""
    text = duo.driver.execute_script(
        "return [document.body.innerText, ...Array.from(document.querySelectorAll('[placeholder], [aria-label]'),"
        " e => (e.getAttribute('placeholder') || '') + ' ' + (e.getAttribute('aria-label') || ''))].join(' ')")
    return sorted(set(ENGLISH_PATTERN.findall(text)))


def test_ux001_every_page_in_portuguese_has_no_english_component_text(dash_duo, demo):
    app, values = demo
    dash_duo.start_server(app, port=free_port())
    found = {}
    for path in _page_paths(values):
        _open(dash_duo, path)
        found[path] = _english_on_page(dash_duo)
        assert dash_duo.driver.title.endswith(" · TDS Telemetry"), (path, dash_duo.driver.title)
    # The widgets' popups: a calendar and a dropdown's search box, open.
    _open(dash_duo, "/explorer")
    dash_duo.find_element("#explorer-dates").click()
    dash_duo.wait_for_element(".dash-datepicker-calendar-container, [role=dialog]")
    found["/explorer (calendar)"] = _english_on_page(dash_duo)
    calendar = dash_duo.find_element("[role=dialog]").text.lower()
    assert any(month in calendar for month in ("janeiro", "novembro", "dezembro")), calendar
    dash_duo.find_element("#explorer-granularity, body").click()
    assert {path: words for path, words in found.items() if words} == {}
    assert dash_duo.get_logs() == []
