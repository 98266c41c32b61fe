"""The Alarmes page: layout and callbacks called directly inside a signed-in request (pt-BR and en)."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import dash
import flask_login
import pytest

from ingest import simulator
from tds_dash.alarms import evaluation, outbox, sender, view
from tds_dash.db import session_scope
from tests.explorer_data import api_token


@pytest.fixture
def page(app, database):
    """acme and globex with an offline gateway each (one alarm each); users of every role; the loaded page."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1))
    database.execute("UPDATE gateways SET status = 'offline', status_since = now(), status_reason = 'will'")
    evaluation.evaluate(database.engine(), datetime.now(timezone.utc), ZoneInfo("America/Sao_Paulo"))
    api_token(app, "acme-viewer", "viewer", ("acme",))
    api_token(app, "acme-operator", "operator", ("acme",))
    # The module Dash loaded: importing pages.alarms anew would register its callbacks a second time.
    return sys.modules[next(name for name in dash.page_registry if name.endswith("pages.alarms"))]


def signed_in(app, username: str, language: str = "pt-BR"):
    """A request context with `username` signed in and the language cookie set."""
    from tds_dash.auth.guard import CurrentUser
    from tds_dash.queries.users import get_user_by_username

    context = app.server.test_request_context("/alarms", headers={"Cookie": f"tds_lang={language}"})
    context.push()
    with session_scope(app.server.extensions["tds"].engine) as conn:
        flask_login.login_user(CurrentUser(get_user_by_username(conn, username)))
    return context


def test_alpg001_viewer_sees_own_account_in_portuguese_without_buttons(app, page, database):
    context = signed_in(app, "acme-viewer")
    try:
        layout = str(page.layout())
        table, badges, deliveries = page.update_table(None, None, "active", None, "7d", 0, None, None)
        navbar = view.nav_badge("pt-BR")
    finally:
        context.pop()
    assert navbar.children == "1" and navbar.color == "warning"  # one major alarm in acme, not globex's
    assert "Alarmes" in layout and "Severidade" in layout
    assert "Nenhuma notificação enviada ainda." in str(deliveries)
    assert "GW-0101" in str(table) and "GW-0201" not in str(table)
    assert "Reconhecer" not in str(table) and "Maior: 1" in str(badges)


def test_alpg002_operator_acknowledges_and_clears_from_the_page_in_english(app, page, database):
    alarm_id = database.scalar("SELECT a.id FROM alarms a JOIN gateways g ON g.id = a.gateway_id"
                               " WHERE g.serial = 'GW-0101'")
    foreign = database.scalar("SELECT id FROM alarms WHERE id <> %s", (alarm_id,))
    # Channels of both accounts, and one attempt each against an SMTP server that is not there.
    database.execute("INSERT INTO notification_channels (account_id, type, target) SELECT id, 'email',"
                     " 'ops@' || slug || '.test' FROM accounts")
    with session_scope(database.engine()) as conn:
        for alarm in (alarm_id, foreign):
            outbox.enqueue(conn, alarm, "raised", datetime.now(timezone.utc))
    sender.send_due(database.engine(), sender.Mailer("smtp://127.0.0.1:9", "a@tds.test", "http://x", ZoneInfo("UTC")),
                    datetime.now(timezone.utc))
    context = signed_in(app, "acme-operator", "en")
    try:
        table, _, deliveries = page.update_table(None, None, "active", None, "7d", 0, None, None)
        assert "Acknowledge" in str(table) and "Clear" in str(table)
        assert "failed (retried later)" in str(deliveries) and "ops@acme.test" in str(deliveries)
        assert "ops@globex.test" not in str(deliveries)
        acked = view.act(view.ACK, alarm_id, "on site", "en")
        refused = view.act(view.CLEAR, foreign, None, "en")
        cleared = view.act(view.CLEAR, alarm_id, None, "en")
        focused, _, _ = page.update_table(None, None, None, None, "24h", 1, None, alarm_id)
    finally:
        context.pop()
    assert f"Alarm {alarm_id} acknowledged." in str(acked) and f"Alarm {alarm_id} cleared." in str(cleared)
    assert "Not allowed" in str(refused)
    assert "Cleared, acknowledged" in str(focused) and "GW-0201" not in str(focused)
    assert database.query("SELECT acked_by, ack_comment, cleared_by FROM alarms WHERE id = %s", (alarm_id,)) == [
        ("acme-operator", "on site", "acme-operator")]
