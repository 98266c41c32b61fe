"""Navigation helpers against a real PostgreSQL: uptime says since when monitoring began, rows know which
gateways cannot be deleted, the gateway's activity counts its messages per hour."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ingest import simulator
from tds_dash.db import session_scope
from tds_dash.fleet import gateway_detail
from tds_dash.queries import fleet, gateway_activity
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.explorer_data import FLEET, write_history

ZONE = ZoneInfo("America/Sao_Paulo")


def test_nav001_uptime_note_says_since_when_monitoring_began_inside_the_window():
    from tds_dash import i18n

    # Every graph takes this one config: Plotly's toolbar only while the pointer is over the chart.
    assert i18n.graph_config("pt-BR")["displayModeBar"] == "hover" == i18n.graph_config("en")["displayModeBar"]
    now = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
    since = datetime(2026, 12, 1, 19, 34, tzinfo=timezone.utc)  # 16:34 in São Paulo
    assert gateway_detail.uptime_note("30d", since, now, ZONE, "pt-BR") == "desde 01/12 16:34 (início do monitoramento)"
    assert gateway_detail.uptime_note("24h", since, now, ZONE, "en") == "since 12/01 4:34 PM (monitoring began)"
    assert gateway_detail.uptime_note("24h", now - timedelta(days=2), now, ZONE, "pt-BR") == "do tempo monitorado"
    assert gateway_detail.uptime_note("7d", None, now, ZONE, "pt-BR") == "do tempo monitorado"


def test_nav002_gateways_with_readings_and_their_hourly_messages(database):
    simulator.provision_fleet(database.engine(), FLEET)
    empty = database.scalar("INSERT INTO gateways (account_id, serial, name) SELECT id, 'GW-EMPTY', 'Vazio'"
                            " FROM accounts WHERE slug = 'acme' RETURNING id")
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(hours=5), now, timedelta(minutes=30))  # 2 messages an hour
    ids = dict(database.query("SELECT serial, id FROM gateways"))
    engine = database.engine()
    with session_scope(engine) as conn:
        assert fleet.gateways_with_readings(conn, list(ids.values())) == {ids["GW-0101"], ids["GW-0201"]}
        gateway = fleet.get_gateway(conn, ALL_ACCOUNTS, now, serial="GW-0101")
        activity = gateway_activity.fetch_gateway_activity(conn, ALL_ACCOUNTS, gateway, now, ZONE)
        acme = database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
        # Another account's scope reads nothing of this gateway.
        other = gateway_activity.fetch_gateway_activity(conn, Scope(account_ids=(acme + 1000,)), gateway, now, ZONE)
    assert empty not in (ids["GW-0101"], ids["GW-0201"])
    messages = activity.messages.set_index("bucket")["messages"]
    assert len(messages) == gateway_activity.MESSAGE_HOURS
    assert list(messages.iloc[-6:]) == [2, 2, 2, 2, 2, 0]  # the 5 hours written, then the hour in progress
    assert messages.iloc[:-6].sum() == 0
    assert activity.metric == "energy_kwh" and activity.unit == "kWh" and activity.daily["consumption"].sum() > 0
    assert other.metric is None and other.messages["messages"].sum() == 0


def _layout_json(app, username: str, module: str, **kwargs) -> str:
    """The page's layout rendered for `username` (signed in for one request), as the JSON Dash would send."""
    import dash
    import flask_login
    import plotly

    from tds_dash.auth.guard import CurrentUser
    from tds_dash.queries.users import get_user_by_username

    with app.server.test_request_context("/"):
        with session_scope(app.server.extensions["tds"].engine) as conn:
            flask_login.login_user(CurrentUser(get_user_by_username(conn, username), "test"))
        page = next(p for p in dash.page_registry.values() if p["module"].split(".")[-1] == module)
        layout = page["layout"](**kwargs)
        return json.dumps(json.loads(plotly.io.json.to_json_plotly(layout)), separators=(",", ":"))


def test_nav003_viewers_see_no_provisioning_switches_nor_edit_link_operators_do(database, mosquitto):
    from tds_dash.app import create_app
    from tests.conftest import ensure_test_user
    from tests.helpers import settings_for

    simulator.provision_fleet(database.engine(), FLEET)
    app = create_app(settings_for(database, mosquitto))
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "nav-viewer", "viewer", ("acme",))
    ensure_test_user(engine, "nav-operator", "operator", ("acme",))
    device = database.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                             " WHERE g.serial = 'GW-0101' AND d.code = 'MED-001'")
    viewer, operator = (_layout_json(app, name, "gateways") for name in ("nav-viewer", "nav-operator"))
    assert "gateways-provisioning" not in viewer and "gateways-provisioning" in operator
    viewer, operator = (_layout_json(app, name, "device", device_id=str(device))
                        for name in ("nav-viewer", "nav-operator"))
    for page in (viewer, operator):  # both: account › gateway › device, and the gateway linked
        assert '"id":"breadcrumbs"' in page and '"href":"/gateways/GW-0101"' in page and "MED-001" in page
    assert "device-edit" not in viewer
    assert '"href":"/devices?gateway=' in operator and f'&edit={device}"' in operator
    # The edit link opens that device's form on the devices page, for operators only; without ?edit nothing opens.
    opened = json.loads(_layout_json(app, "nav-operator", "devices", gateway="1", edit=str(device)))
    closed = json.loads(_layout_json(app, "nav-operator", "devices"))
    refused = json.loads(_layout_json(app, "nav-viewer", "devices", edit=str(device)))
    assert [_modal_open(layout) for layout in (opened, closed, refused)] == [True, False, False]
    assert '"value":"MED-001"' in json.dumps(opened, separators=(",", ":"))


def _modal_open(node) -> bool | None:
    """is_open of the devices form's modal in a layout's JSON."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == "devices-modal":
            return props.get("is_open")
        for value in props.values():
            found = _modal_open(value)
            if found is not None:
                return found
    if isinstance(node, list):
        for item in node:
            found = _modal_open(item)
            if found is not None:
                return found
    return None
