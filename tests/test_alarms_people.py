"""People as recipients: per-user choices, accounts' default recipients, the hourly digest and the tenant rule,
through the real API, the outbox and a real SMTP server (aiosmtpd), with an injected clock (no sleeping)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dash
import pytest

from ingest import simulator
from tds_dash.alarms import digest, evaluation, sender
from tests.alarm_tools import SmtpServer
from tests.explorer_data import api_token

UTC = timezone.utc
ZONE = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 27, 12, 10, tzinfo=UTC)  # 09:10 in Sao Paulo
PREFS = "/api/v1/me/notification-preferences"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def mailer(smtp_url: str) -> sender.Mailer:
    return sender.Mailer(smtp_url, "alarms@tds.test", "https://tds.example", ZONE)


@pytest.fixture
def people(app, client, database):
    """acme and globex, gateways offline since T0; a second, minor rule on acme's; users of each account."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1),
                              {"acme": "Acme Energia", "globex": "Globex"})
    database.execute("UPDATE gateways SET status = 'offline', status_since = %s, status_reason = 'will'", (T0,))
    database.execute("INSERT INTO alarm_rules (account_id, kind, name, severity) SELECT id, 'gateway_offline',"
                     " 'Offline (minor)', 'minor' FROM accounts WHERE slug = 'acme'")
    accounts = dict(database.query("SELECT slug, id FROM accounts"))
    tokens = {"ana": api_token(app, "ana", "operator", ("acme",)), "bob": api_token(app, "bob", "viewer", ("acme",)),
              "carl": api_token(app, "carl", "viewer", ("globex",)), "eve": api_token(app, "eve")}
    for name, headers in tokens.items():
        assert client.put(PREFS, json={"email": f"{name}@mail.test"}, headers=headers).status_code == 200
    return client, tokens, accounts


def put(client, headers, body):
    answer = client.put(PREFS, json=body, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def mails_to(smtp, address: str) -> list:
    return [m for m in smtp.messages if m["To"] == address]


def test_alpp001_choices_defaults_and_the_tenant_rule_decide_who_is_mailed(database, people, smtp):
    client, tokens, accounts = people
    acme, globex = accounts["acme"], accounts["globex"]
    # ana: acme's every severity, minor/warning in the digest; eve (admin): globex's major only; bob: default
    # recipient of acme; carl (globex only) made a default of acme behind the API's back: still gets nothing.
    put(client, tokens["ana"], {"accounts": [{"account_id": acme, "severities": ["critical", "major", "minor"],
                                              "digest": True}]})
    put(client, tokens["eve"], {"language": "en", "accounts": [{"account_id": globex, "severities": ["major"]}]})
    saved = client.put(f"/api/v1/accounts/{acme}/notification-recipients", json={"recipients": ["bob"]},
                       headers=tokens["ana"])
    assert saved.status_code == 200 and saved.json["recipients"] == ["bob"]
    assert {c["username"] for c in saved.json["candidates"]} == {"ana", "bob", "eve"}  # never carl
    database.execute("INSERT INTO account_notification_recipients SELECT %s, id FROM users WHERE username = 'carl'",
                     (acme,))
    evaluation.evaluate(database.engine(), T0 + timedelta(seconds=1), ZONE)
    assert sender.send_due(database.engine(), mailer(smtp.url), T0 + timedelta(seconds=2)) == {"sent": 4, "failed": 0}
    assert sorted(m["Subject"] for m in mails_to(smtp, "bob@mail.test")) == [
        "[TDS] Maior: Gateway offline — GW-0101 (disparado)", "[TDS] Menor: Gateway offline — GW-0101 (disparado)"]
    assert [m["Subject"] for m in mails_to(smtp, "ana@mail.test")] == [
        "[TDS] Maior: Gateway offline — GW-0101 (disparado)"]  # her minor one waits for the digest
    assert [m["Subject"] for m in mails_to(smtp, "eve@mail.test")] == [
        "[TDS] Major: Gateway offline — GW-0201 (raised)"]
    assert mails_to(smtp, "carl@mail.test") == []
    assert "Acme" not in mails_to(smtp, "eve@mail.test")[0].get_content()  # no tenant's data in another's mail
    assert database.scalar("SELECT count(*) FROM notification_digest_items WHERE outbox_id IS NULL") == 1


def test_alpp002_one_digest_per_hour_listing_everything_sent_once_across_restart_and_outage(database, people, smtp):
    client, tokens, accounts = people
    acme = accounts["acme"]
    put(client, tokens["ana"], {"accounts": [{"account_id": acme, "severities": ["minor", "warning"], "digest": True}]})
    engine = database.engine()
    evaluation.evaluate(engine, T0 + timedelta(seconds=1), ZONE)
    minor = database.scalar("SELECT id FROM alarms WHERE severity = 'minor'")
    database.execute("UPDATE gateways SET status = 'online'")
    evaluation.evaluate(engine, T0 + timedelta(minutes=10), ZONE)  # back online: the minor rule clears at once
    assert database.scalar("SELECT count(*) FROM notification_digest_items") == 2  # raised, cleared
    assert digest.build_due(engine, T0 + timedelta(minutes=40)) == 0  # 12:50: the hour is not over
    smtp.stop()
    assert digest.build_due(engine, T0 + timedelta(minutes=51)) == 1  # 13:01
    assert digest.build_due(engine, T0 + timedelta(minutes=52)) == 0  # a rerun or a second process: nothing new
    assert sender.send_due(engine, mailer(smtp.url), T0 + timedelta(minutes=52)) == {"sent": 0, "failed": 1}
    engine.dispose()  # the process stops; another one starts and the SMTP server is back
    smtp.start()
    restarted = database.engine()
    assert digest.build_due(restarted, T0 + timedelta(minutes=55)) == 0
    assert sender.send_due(restarted, mailer(smtp.url), T0 + timedelta(minutes=55)) == {"sent": 1, "failed": 0}
    assert sender.send_due(restarted, mailer(smtp.url), T0 + timedelta(hours=3)) == {"sent": 0, "failed": 0}
    [mail] = smtp.messages
    assert mail["To"] == "ana@mail.test"
    assert mail["Subject"] == ("[TDS] Resumo de alarmes: 2 notificação(ões) de 27/11/2026 09:00:00"
                               " a 27/11/2026 10:00:00")  # the hour in Sao Paulo time
    body = mail.get_content()
    assert "27/11/2026 09:10:01 · Menor: Gateway offline — GW-0101 (disparado) · Conta: Acme Energia" in body
    assert "27/11/2026 09:20:00 · Menor: Gateway offline — GW-0101 (normalizado)" in body
    assert body.count(f"https://tds.example/alarms?alarm={minor}") == 2
    assert database.scalar("SELECT count(*) FROM notification_digest_items WHERE outbox_id IS NULL") == 0
    assert digest.build_due(restarted, T0 + timedelta(hours=2)) == 0  # nothing left: no empty digest


def test_alpp003_a_user_who_loses_the_account_gets_nothing_more_of_it(database, people, smtp):
    client, tokens, accounts = people
    acme = accounts["acme"]
    put(client, tokens["bob"], {"accounts": [{"account_id": acme, "severities": ["major", "minor"], "digest": True}]})
    evaluation.evaluate(database.engine(), T0 + timedelta(seconds=1), ZONE)  # major at once, minor for the digest
    database.execute("DELETE FROM user_accounts WHERE user_id = (SELECT id FROM users WHERE username = 'bob')")
    assert sender.send_due(database.engine(), mailer(smtp.url), T0 + timedelta(seconds=2)) == {"sent": 0, "failed": 1}
    assert digest.build_due(database.engine(), T0 + timedelta(hours=1)) == 0
    assert smtp.messages == []
    assert database.query("SELECT last_error, failed_at IS NOT NULL FROM notification_outbox") == [
        ("refused: the recipient may no longer read this account", True)]
    assert database.scalar("SELECT count(*) FROM notification_digest_items") == 0  # dropped, never mailed


def test_alpp004_preferences_api_shows_why_and_refuses_foreign_accounts_and_bad_input(database, people):
    client, tokens, accounts = people
    acme, globex = accounts["acme"], accounts["globex"]
    database.execute("INSERT INTO account_notification_recipients SELECT %s, id FROM users WHERE username = 'bob'",
                     (acme,))
    mine = client.get(PREFS, headers=tokens["bob"]).json
    assert mine["email"] == "bob@mail.test" and mine["digest_severities"] == ["minor", "warning"]
    assert mine["accounts"] == [{"account_id": acme, "account": "Acme Energia", "severities": [
        "critical", "major", "minor", "warning"], "digest": False, "default_recipient": True, "source": "default"}]
    opted_out = put(client, tokens["bob"], {"accounts": [{"account_id": acme, "severities": []}]})
    assert opted_out["accounts"][0]["severities"] == [] and opted_out["accounts"][0]["source"] == "choice"
    back = put(client, tokens["bob"], {"accounts": [{"account_id": acme, "default": True}]})
    assert back["accounts"][0]["source"] == "default"
    foreign = client.put(PREFS, json={"accounts": [{"account_id": globex, "severities": ["major"]}]},
                         headers=tokens["bob"])
    assert foreign.status_code == 403
    for body, field in (({"email": "not an address"}, "email"), ({"language": "fr"}, "language"),
                        ({"accounts": [{"account_id": acme, "severities": ["loud"]}]}, "accounts[0].severities"),
                        ({"colour": "red"}, "colour"), ({"on_ack": "yes"}, "on_ack")):
        answer = client.put(PREFS, json=body, headers=tokens["bob"])
        assert answer.status_code == 400 and answer.json["error"]["parameter"] == field, (body, answer.json)
    assert client.get(PREFS, headers=tokens["bob"]).json["email"] == "bob@mail.test"  # nothing else lost
    viewer = client.put(f"/api/v1/accounts/{acme}/notification-recipients", json={"recipients": []},
                        headers=tokens["bob"])
    other = client.get(f"/api/v1/accounts/{globex}/notification-recipients", headers=tokens["ana"])
    outsider = client.put(f"/api/v1/accounts/{acme}/notification-recipients", json={"recipients": ["carl"]},
                          headers=tokens["ana"])
    assert viewer.status_code == 403 and other.status_code == 404
    assert outsider.status_code == 400 and "carl" in outsider.json["error"]["message"]
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity = 'notification_preferences'") >= 6


def test_alpp005_notifications_page_saves_my_choices_and_an_operator_sets_defaults(app, database, people):
    from tests.test_alarms_page import signed_in
    from tests.test_alarms_panels import loaded

    _, _, accounts = people
    acme, globex = accounts["acme"], accounts["globex"]
    page = loaded("notifications")
    ids = [{"type": "notif-severities", "account": acme}]
    context = signed_in(app, "bob")
    try:
        layout = str(page.layout())
        saved, rows = page.on_save(1, "bob@acme.test", "en", True, [["critical", "minor"]], [True], ids)
        refused, kept = page.on_save(1, "bob at acme", "pt-BR", False, [[]], [False], ids)
        foreign, _ = page.on_save(1, "bob@acme.test", "en", True, [["major"]], [False],
                                  [{"type": "notif-severities", "account": globex}])
        viewer_defaults = page.update_recipients(acme)
    finally:
        context.pop()
    assert "O que chega para mim" in layout and "Acme Energia" in layout and "Globex" not in layout
    assert "notif-defaults" not in layout  # a viewer does not set an account's defaults
    assert "Salvo." in str(saved) and "sua escolha" in str(rows)
    assert "E-mail inválido" in str(refused) and kept is dash.no_update
    assert "Sem permissão" in str(foreign)
    assert "Sem permissão" in str(viewer_defaults[2])
    assert database.query("SELECT s.email, s.language, s.on_ack, c.severities, c.digest FROM users u"
                          " JOIN user_notification_settings s ON s.user_id = u.id JOIN user_notification_choices c"
                          " ON c.user_id = u.id WHERE u.username = 'bob'") == [
        ("bob@acme.test", "en", True, ["critical", "minor"], True)]
    context = signed_in(app, "ana", "en")
    try:
        options, current, _ = page.update_recipients(acme)
        done = page.on_save_recipients(1, acme, ["bob", "eve"])
        outsider = page.on_save_recipients(1, acme, ["carl"])
    finally:
        context.pop()
    assert [o["value"] for o in options] == ["ana", "bob", "eve"] and current == []
    assert "Saved." in str(done) and "Invalid recipient" in str(outsider)
    assert sorted(r[0] for r in database.query("SELECT u.username FROM account_notification_recipients r"
                                               " JOIN users u ON u.id = r.user_id")) == ["bob", "eve"]
