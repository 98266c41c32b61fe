"""The Tarifas page: layout and callbacks called directly inside a signed-in request; the preview's numbers."""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import date, datetime, timezone
from decimal import Decimal

import dash
import pytest

from tds_dash import periods
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import service
from tds_dash.tariffs.model import Usage
from tds_dash.tariffs.money import format_brl
from tests.explorer_data import api_token
from tests.tariff_reference import VERSIONS
from tests.test_alarms_page import signed_in
from tests.test_tariffs_db import METRIC, Fleet, version_input
from tests.test_tariffs_db import at as local


@pytest.fixture
def page(app, database):
    """acme with the sample tariff and last month's usage, globex without a tariff; a viewer and an operator."""
    fleet = Fleet(database)
    zone = app.server.extensions["tds"].settings.zone
    last = periods.add_months(datetime.now(timezone.utc).astimezone(zone).date().replace(day=1), -1)
    fleet.put(fleet.acme, [Usage(d, local(last, h), Decimal("1.5") + h) for d in fleet.devices["acme"]
                           for h in range(0, 24, 3)])
    # V1 from 2000 so that "last month" is priced whenever the tests run; V2 still starts on 16/11/2026.
    fleet.tariff(fleet.acme, (dataclasses.replace(VERSIONS[0], valid_from=date(2000, 1, 1)), VERSIONS[1]))
    api_token(app, "acme-viewer", "viewer", ("acme",))
    api_token(app, "acme-operator", "operator", ("acme",))
    module = sys.modules[next(name for name in dash.page_registry if name.endswith("pages.tariffs"))]
    return module, fleet, last


def _fields(version) -> tuple:
    plain = version_input(version)
    return (plain["valid_from"], plain["fixed_fee"], plain["minimum_charge"],
            *(json.dumps(plain[k]) for k in ("periods", "tiers", "taxes")))


def test_tpg001_viewer_reads_versions_and_last_month_cost_without_forms(app, page):
    module, fleet, last = page
    context = signed_in(app, "acme-viewer")
    try:
        layout = str(module.layout())
        panel = str(module.update_panel(fleet.acme, METRIC, 0))
        foreign = str(module.update_panel(fleet.globex, METRIC, 0))
        unchosen = str(module.update_panel(None, METRIC, 0))
    finally:
        context.pop()
    assert "Tarifas" in layout and module.SAVE not in layout and module.CREATE not in layout
    assert "Branca" in panel and "2026-11-16" in panel and "amarela" in panel
    with session_scope(fleet.engine) as conn:
        want = service.preview_month(conn, ALL_ACCOUNTS, fleet.acme, METRIC, last,
                                     app.server.extensions["tds"].settings.zone).stored
    assert want > 0 and format_brl(want, "pt-BR") in panel and f"{last:%m/%Y}" in panel
    assert f"/statements/{last:%Y-%m}?format=csv" in panel
    assert "Escolha uma conta" in unchosen
    assert "Campo account" in foreign  # globex lies outside the viewer's accounts: "unknown account", as a 404


def test_tpg002_operator_previews_then_saves_a_version_in_english(app, page, database):
    module, fleet, last = page
    cheaper = _fields(VERSIONS[1])
    cheaper = (date.today().isoformat(), *cheaper[1:])
    context = signed_in(app, "acme-operator", "en")
    try:
        assert module.SAVE in str(module.layout())
        prefilled = module.prefill_version(fleet.acme, METRIC, 0)
        preview = str(module.on_preview(1, fleet.acme, METRIC, *cheaper))
        bad = str(module.on_preview(1, fleet.acme, METRIC, *cheaper[:3], "[{", *cheaper[4:]))
        saved, refresh = module.on_save(1, fleet.acme, METRIC, 3, *cheaper)
        forbidden_create = module.on_create(1, fleet.globex, METRIC, "x", "", 0)
    finally:
        context.pop()
    assert prefilled[1] == "15" and '"ponta"' in prefilled[3]  # from the newest version (V2)
    assert "under the current tariff" in preview and "under this version" in preview and "R$" in preview
    assert "Field periods: is not valid JSON" in bad
    assert "saved" in str(saved) and refresh == 4
    assert "Field account" in str(forbidden_create[0]) and forbidden_create[1] == 0
    assert database.scalar("SELECT count(*) FROM audit_log WHERE username = 'acme-operator'"
                           " AND entity = 'tariff_version'") == 1


def test_tpg003_viewer_cannot_write_through_the_callbacks(app, page):
    module, fleet, _ = page
    context = signed_in(app, "acme-viewer")
    try:
        alert, refresh = module.on_save(1, fleet.acme, METRIC, 0, *_fields(VERSIONS[0]))
        surcharge = module.on_surcharge(1, fleet.acme, METRIC, "2026-12", "0,5", "x", 0)
    finally:
        context.pop()
    assert "Sem permissão" in str(alert) and refresh == 0 and "Sem permissão" in str(surcharge[0])


def test_tpg004_preview_prices_the_draft_for_the_whole_month(app, page):
    module, fleet, last = page
    zone = app.server.extensions["tds"].settings.zone
    draft = {**version_input(VERSIONS[0]), "valid_from": "2099-01-01"}  # priced from the 1st regardless
    with session_scope(fleet.engine) as conn:
        found = service.preview_month(conn, ALL_ACCOUNTS, fleet.acme, METRIC, last, zone, draft)
        service.delete_version(conn, ALL_ACCOUNTS, service.Actor(None, "t", "admin"), fleet.acme, METRIC, "2026-11-16")
        stored_as_v1 = service.preview_month(conn, ALL_ACCOUNTS, fleet.acme, METRIC, last, zone).stored
    assert found.month == last and found.draft == stored_as_v1 and found.draft > 0


def test_tpg005_through_http_the_navbar_links_the_page_and_a_crafted_account_is_refused(app, page):
    from tests.test_fleet_security import call
    from tests.test_tenant_isolation import signed_in_client

    module, fleet, _ = page
    client = signed_in_client(app, "acme-viewer")
    assert 'Tarifas' in client.get("/_dash-layout").get_data(as_text=True)
    panel = call(client, app, (f"{module.PANEL}.children",),
                 [{"id": module.ACCOUNT, "property": "value", "value": fleet.acme},
                  {"id": module.METRIC, "property": "value", "value": METRIC},
                  {"id": module.REFRESH, "property": "data", "value": 0}], [], f"{module.ACCOUNT}.value")
    assert "Branca" in panel
    link = re.search(r'"href": "(/api/v1/tariffs/[0-9]+/statements/[0-9-]+)"', panel).group(1)
    statement = client.get(link)  # the page's link works with the browser's session
    assert statement.status_code == 200 and statement.data.startswith(b"%PDF")
    foreign = call(client, app, (f"{module.PANEL}.children",),
                   [{"id": module.ACCOUNT, "property": "value", "value": fleet.globex},
                    {"id": module.METRIC, "property": "value", "value": METRIC},
                    {"id": module.REFRESH, "property": "data", "value": 0}], [], f"{module.ACCOUNT}.value")
    assert "Branca" not in foreign and "unknown account" in foreign
    crafted = client.post("/_dash-update-component", json={
        "output": f"{module.PANEL}.children", "outputs": {"id": module.PANEL, "property": "children"},
        "inputs": [{"id": module.ACCOUNT, "property": "value", "value": True},
                   {"id": module.METRIC, "property": "value", "value": METRIC},
                   {"id": module.REFRESH, "property": "data", "value": 0}], "state": [],
        "changedPropIds": [f"{module.ACCOUNT}.value"]})
    assert crafted.status_code == 400
