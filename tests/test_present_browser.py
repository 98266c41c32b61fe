"""Presentation mode in Chromium: a share link opened signed out shows its account's cards and rotating charts,
nothing of another account, and says so when the link is revoked; signed in, /present is the viewer's accounts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.conftest import ensure_test_user, sign_in
from tests.explorer_data import FLEET, api_token, write_history
from tests.helpers import free_port, settings_for, wait_until
from tests.test_ux_browser import _english_on_page

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screens"


def _text(duo, selector: str) -> str:
    return duo.driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
                                     selector)


def _shown_slide(duo) -> str:
    return duo.driver.execute_script(
        "const s = [...document.querySelectorAll('.present-slide')].find(e => !e.hidden); return s ? s.id : ''")


def test_prs001_share_link_presents_one_account_signed_out_until_revoked(dash_duo, database, mosquitto):
    simulator.provision_fleet(database.engine(), FLEET, {"acme": "Acme Energia", "globex": "Globex Águas"})
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(days=2), now, timedelta(hours=1))
    app = create_app(settings_for(database, mosquitto, TDS_REFRESH_SECONDS=2))
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "prs-operator", "operator", ("acme",))
    admin = api_token(app, "prs-admin")
    # An operator creates the link on the share-links page (the navbar's "Links"), then signs out.
    dash_duo.start_server(app, sign_in_as="prs-operator", port=free_port())
    dash_duo.driver.set_window_size(1440, 900)
    dash_duo.driver.get(dash_duo.server_url + "/share-links")
    dash_duo.wait_for_element("#share-create").click()
    url = wait_until(lambda: _text(dash_duo, "#share-url"), message="the new link")
    assert url.startswith(dash_duo.server_url + "/present/")
    dash_duo.find_element("#nav-logout").click()
    dash_duo.wait_for_element("#login-username")
    link = app.server.test_client().get("/api/v1/share-links", headers=admin).json["data"][0]
    dash_duo.driver.get(url + "?seconds=5")
    wait_until(lambda: "kWh" in _text(dash_duo, "#present-card-month"), message="the month card")
    assert _text(dash_duo, "#present-account") == "Acme Energia"
    assert _text(dash_duo, "#present-card-devices").split("\n")[1] == "3"
    SCREENS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENS / "present-cards-desktop.png"))
    # No controls; after 5 s the monthly chart fills the screen, then the daily one.
    assert dash_duo.driver.find_elements("css selector", "button, input, select, a, .modebar") == []
    assert _english_on_page(dash_duo) == []  # the same scan as every page's (test_ux001)
    wait_until(lambda: _shown_slide(dash_duo) == "present-slide-monthly", timeout=12, message="rotation")
    wait_until(lambda: dash_duo.driver.find_elements("css selector", "#present-chart-monthly .point path"))
    height = dash_duo.driver.execute_script("return document.querySelector('#present-chart-monthly').offsetHeight")
    assert height > 500  # most of the 900 px screen
    dash_duo.driver.save_screenshot(str(SCREENS / "present-monthly-desktop.png"))
    wait_until(lambda: _shown_slide(dash_duo) == "present-slide-daily", timeout=12, message="rotation")
    assert "globex" not in dash_duo.driver.page_source.lower()
    assert dash_duo.get_logs() == []
    # Revoked: the next refresh (2 s) says so and the account's numbers are gone.
    app.server.test_client().delete(f"/api/v1/share-links/{link['id']}", headers=admin)
    wait_until(lambda: "revogado" in _text(dash_duo, "#present-message"), message="revocation shown")
    assert not dash_duo.driver.find_element("css selector", "#present-slide-cards").is_displayed()
    assert _english_on_page(dash_duo) == []
    # Signed in, a viewer presents their own account and nothing else.
    username, password = ensure_test_user(engine, "prs-viewer", "viewer", ("acme",))
    sign_in(dash_duo, username, password)
    dash_duo.driver.set_window_size(390, 844)
    dash_duo.driver.get(dash_duo.server_url + "/present?account=globex")
    wait_until(lambda: "Nenhuma conta" in _text(dash_duo, "#present-message"))
    dash_duo.driver.get(dash_duo.server_url + "/present")
    wait_until(lambda: "kWh" in _text(dash_duo, "#present-card-month"), message="signed-in presentation")
    assert _text(dash_duo, "#present-account") == "Acme Energia"
    assert dash_duo.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    dash_duo.driver.save_screenshot(str(SCREENS / "present-cards-phone.png"))
