"""What a Brazilian client sees in a demo: no English component text, phone-sized pages, per-page tab titles."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dash
import pytest
from selenium.webdriver.common.action_chains import ActionChains

from ingest import simulator
from tds_dash.app import create_app
from tds_dash.consumption import ids
from tests.explorer_data import FLEET, device_id, write_history
from tests.helpers import free_port, settings_for, wait_until

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Texts that AG Grid, the date pickers, the dropdowns, Dash's 404 page or raw field names show in English.
ENGLISH = ("No Rows To Show", "Page Size", "Page", "to", "of", "Search", "Select", "No options found", "Loading",
           "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December", "Su", "Mo", "Tu", "We", "Th", "Fr", "Sa", "404 - Page not found",
           "Username", "Name", "Role", "Active", "Entity", "Entity_id", "Last_used", "Created", "Revoked",
           "Prefix", "Change", "mostly")
ENGLISH_PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in ENGLISH) + r")\b")


# A third account with eight energy meters over the last hours: the explorer then charts ten devices and
# "Outros", the legend a phone must fold.
WIDE = simulator.build_fleet(["acme", "globex", "initech"], 1, 12)[2:]


@pytest.fixture
def demo(database, mosquitto):
    simulator.provision_fleet(database.engine(), FLEET)
    simulator.provision_fleet(database.engine(), WIDE)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(days=2), now, timedelta(hours=1))
    write_history(database, now - timedelta(hours=4), now, timedelta(hours=1), fleet=WIDE)
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
    _open(dash_duo, "/")
    assert dash_duo.driver.title == "Visão geral · TDS Telemetry"
    _open(dash_duo, "/gateways/GW-0101")
    assert dash_duo.driver.title == "Gateway GW-0101 · TDS Telemetry"
    # The widgets' popups: a calendar and a dropdown's search box, open.
    _open(dash_duo, "/explorer")
    dash_duo.find_element("#explorer-dates").click()
    dash_duo.wait_for_element(".dash-datepicker-calendar-container, [role=dialog]")
    found["/explorer (calendar)"] = _english_on_page(dash_duo)
    calendar = dash_duo.find_element("[role=dialog]").text.lower()
    assert any(month in calendar for month in ("janeiro", "novembro", "dezembro")), calendar
    dash_duo.find_element("h3").click()  # closes the calendar
    dash_duo.find_element("#explorer-account").click()
    search = dash_duo.wait_for_element(".dash-dropdown-search, input[type=search]")
    search.send_keys("zzz-nada")
    time.sleep(0.3)
    found["/explorer (dropdown)"] = _english_on_page(dash_duo)
    assert "Nenhuma opção encontrada" in dash_duo.driver.execute_script("return document.body.innerText")
    assert {path: words for path, words in found.items() if words} == {}
    assert dash_duo.get_logs() == []


SIZES = {"phone": (390, 844), "desktop": (1440, 900)}
# Each page and an element a client must see on it at both widths.
PHONE_PAGES = (("overview", "/", "#overview-latest-table"), ("explorer", "/explorer", "#explorer-chart"),
               ("gateways", "/gateways", "#gateways-table"), ("gateway", "/gateways/{serial}", "#gateway-activity"),
               ("device", "/device/{device_id}", "#breadcrumbs"))
SCREENS = ARTIFACTS / "screens"


def _viewport(duo, width: int, height: int) -> None:
    """Resize so that the page's viewport (not the window) is width × height."""
    duo.driver.set_window_size(width, height)
    inner = duo.driver.execute_script("return [window.innerWidth, window.innerHeight]")
    duo.driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


def _layout_report(duo, selector: str) -> dict:
    return duo.driver.execute_script("""
        const el = document.querySelector(arguments[0]);
        const toggler = document.querySelector('#nav-toggler');
        const box = el ? el.getBoundingClientRect() : null;
        if (el) el.scrollIntoView({block: 'center'});
        return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                navbar: document.querySelector('.navbar').offsetHeight,
                toggler: !!toggler && toggler.offsetParent !== null,
                links: document.querySelector('#nav-collapse').offsetHeight > 0,
                visible: !!box && box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= window.innerWidth + 1};
    """, selector)


def _legend_fits(duo, graph: str) -> bool:
    """Whether the chart's legend is no taller than its plotting area (it folds into a scrolled box)."""
    return duo.driver.execute_script("""
        const legend = document.querySelector(arguments[0] + ' .legend rect.bg'),  // the box, not what scrolls in it
              plot = document.querySelector(arguments[0] + ' .nsewdrag');
        return legend.getBoundingClientRect().height <= plot.getBoundingClientRect().height;""", graph)


def _toolbar(duo) -> dict:
    return duo.driver.execute_script("""
        const group = document.querySelector(arguments[0] + ' .modebar-group');
        return {opacity: getComputedStyle(group).opacity,
                hidden: getComputedStyle(group.closest('.modebar-container')).display === 'none',
                touch: matchMedia('(hover: none)').matches};""", f"#{ids.DEVICE_CHARTS} .js-plotly-plot")


def test_ux002_pages_fit_a_phone_and_a_desktop(dash_duo, demo):
    app, values = demo
    dash_duo.start_server(app, port=free_port())
    SCREENS.mkdir(parents=True, exist_ok=True)
    reports = {}
    for size, (width, height) in SIZES.items():
        _viewport(dash_duo, width, height)
        for name, path, selector in PHONE_PAGES:
            _open(dash_duo, path.format(**values))
            dash_duo.wait_for_element(selector, timeout=10)
            reports[(size, name)] = _layout_report(dash_duo, selector)
            time.sleep(0.5)  # charts drawn: now the key element stays where it is scrolled to
            if name == "explorer":  # ten devices, "Outros" and "em andamento": the legend scrolls, not grows
                wait_until(lambda: len(dash_duo.find_elements("#explorer-chart .legend .traces")) >= 12,
                           timeout=30, message="the explorer's legend of ten devices and Outros")
                reports[(size, name)]["legend"] = _legend_fits(dash_duo, "#explorer-chart")
            dash_duo.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", selector)
            dash_duo.driver.save_screenshot(str(SCREENS / f"{name}-{size}.png"))
    problems = {key: r for key, r in reports.items()
                if r["scroll"] > r["inner"] or not r["visible"] or r.get("legend") is False
                or (key[0] == "phone") != r["toggler"] or (key[0] == "phone") == r["links"] or r["navbar"] > 120}
    assert problems == {}
    # The breadcrumbs link the device's gateway.
    assert dash_duo.find_element("#breadcrumbs a[href='/gateways/GW-0101']")
    # The chart toolbar shows only under the pointer, and not at all without a hovering pointer (a phone,
    # this headless browser), where Plotly would draw it over the top bars.
    dash_duo.wait_for_element(f"#{ids.DEVICE_CHARTS} .js-plotly-plot .modebar-group")
    assert _toolbar(dash_duo)["opacity"] == "0"
    ActionChains(dash_duo.driver).move_to_element(
        dash_duo.find_element(f"#{ids.DEVICE_CHARTS} .js-plotly-plot .nsewdrag")).perform()
    wait_until(lambda: _toolbar(dash_duo)["opacity"] == "1", timeout=5, message="the toolbar under the pointer")
    toolbar = _toolbar(dash_duo)
    assert toolbar["hidden"] == toolbar["touch"], toolbar
    # At 1280 px the admin's navbar, in Portuguese, is one line (its links fold behind the toggler below 1400 px).
    _viewport(dash_duo, 1280, 800)
    _open(dash_duo, "/")
    assert _layout_report(dash_duo, "#overview-latest-table")["navbar"] <= 64
    dash_duo.driver.save_screenshot(str(SCREENS / "overview-1280.png"))
    # On a phone the toggler opens the menu.
    _viewport(dash_duo, *SIZES["phone"])
    _open(dash_duo, "/")
    dash_duo.find_element("#nav-toggler").click()
    dash_duo.wait_for_element("#nav-collapse.show #nav-logout")
    assert dash_duo.get_logs() == []


def test_ux003_dark_theme_is_the_viewers_choice_and_darkens_charts_and_grids(dash_duo, demo):
    app, _ = demo
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_text_to_equal("#nav-theme", "Tema escuro")
    dash_duo.find_element("#nav-theme").click()
    dash_duo.wait_for_text_to_equal("#nav-theme", "Tema claro")
    dash_duo.wait_for_element("#overview-monthly-chart .xtick text")
    dash_duo.wait_for_element("#overview-latest-table .ag-root-wrapper")
    time.sleep(0.5)
    colours = dash_duo.driver.execute_script("""
        const rgb = (el, prop) => el ? getComputedStyle(el)[prop] : null;
        return {theme: document.documentElement.dataset.bsTheme, body: rgb(document.body, 'backgroundColor'),
                paper: rgb(document.querySelector('#overview-monthly-chart .main-svg'), 'backgroundColor'),
                tick: rgb(document.querySelector('#overview-monthly-chart .xtick text'), 'fill'),
                grid: rgb(document.querySelector('#overview-latest-table .ag-root-wrapper'), 'backgroundColor'),
                dropdown: rgb(document.querySelector('#overview-metric'), 'color')};
    """)
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "overview-dark.png"))
    assert colours == {"theme": "dark", "body": "rgb(33, 37, 41)", "paper": "rgba(0, 0, 0, 0)",
                       "tick": "rgb(222, 226, 230)", "grid": "rgb(33, 37, 41)",
                       "dropdown": "rgb(222, 226, 230)"}
    dash_duo.find_element("#nav-theme").click()  # and back: the cookie follows the viewer, not the server
    dash_duo.wait_for_text_to_equal("#nav-theme", "Tema escuro")
    assert dash_duo.driver.execute_script("return document.documentElement.dataset.bsTheme") == "light"
    assert dash_duo.get_logs() == []
