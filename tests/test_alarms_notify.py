"""Notifications through the outbox to a real SMTP server (aiosmtpd) and a real HTTP receiver, injected clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash.alarms import evaluation, lifecycle, reminders, sender, transports
from tds_dash.db import session_scope
from tests.alarm_tools import SmtpServer, WebhookReceiver

UTC = timezone.utc
ZONE = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "s3cret-for-hmac"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def offline(database, smtp, hook):
    """acme's gateway offline since T0 (by will), an e-mail channel in pt-BR and a webhook in English."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1))
    database.execute("UPDATE gateways SET status = 'offline', status_since = %s, status_reason = 'will'", (T0,))
    database.execute("INSERT INTO notification_channels (account_id, type, target, on_ack) SELECT id, 'email',"
                     " 'ops@acme.test', true FROM accounts")
    database.execute("INSERT INTO notification_channels (account_id, type, target, secret, language) SELECT id,"
                     " 'webhook', %s, %s, 'en' FROM accounts", (hook.url, SECRET))
    return database.engine()


def mailer(smtp_url: str) -> sender.Mailer:
    # The receivers run on loopback: the SSRF guard is off here and tested on its own (aln013).
    return sender.Mailer(smtp_url, "alarms@tds.test", "https://tds.example", ZONE, allow_private_webhooks=True)


def raise_now(engine, now=T0 + timedelta(seconds=1)):
    return evaluation.evaluate(engine, now, ZONE, evaluation.FAST_KINDS)


def test_aln001_raised_alarm_is_mailed_and_posted_once_signed(database, offline, smtp, hook):
    raise_now(offline)
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=2)) == {"sent": 2, "failed": 0}
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=3)) == {"sent": 0, "failed": 0}
    [mail] = smtp.messages
    assert mail["To"] == "ops@acme.test" and mail["From"] == "alarms@tds.test"
    assert mail["Subject"] == "[TDS] Maior: Gateway offline — GW-0101 (disparado)"
    body = mail.get_content()
    assert "Desde: 27/11/2026 09:00:00" in body  # T0 in Sao Paulo time
    alarm_id = database.scalar("SELECT id FROM alarms")
    assert f"https://tds.example/alarms?alarm={alarm_id}" in body
    [document] = hook.documents(SECRET)  # the HMAC of the exact body verifies
    assert document["event"] == "raised" and document["alarm"]["id"] == alarm_id
    assert document["title"] == "[TDS] Major: Gateway offline — GW-0101 (raised)"
    assert database.scalar("SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL") == 0


def test_aln002_smtp_down_for_60_seconds_then_delivered_once(database, offline, smtp, hook):
    raise_now(offline)
    smtp.stop()
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=2)) == {"sent": 1, "failed": 1}
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=20)) == {"sent": 0, "failed": 0}
    smtp.start()
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=62)) == {"sent": 1, "failed": 0}
    assert sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=600)) == {"sent": 0, "failed": 0}
    assert len(smtp.messages) == 1 and len(hook.requests) == 1
    log = database.query("SELECT d.ok FROM notification_deliveries d JOIN notification_outbox o ON o.id = d.outbox_id"
                         " JOIN notification_channels c ON c.id = o.channel_id WHERE c.type = 'email' ORDER BY d.id")
    assert log == [(False,), (True,)]


def test_aln003_receiver_errors_are_retried_with_backoff_then_given_up(database, offline, smtp, hook):
    hook.status = 500
    raise_now(offline)
    now = T0 + timedelta(seconds=2)
    for attempt in range(1, sender.MAX_ATTEMPTS + 1):
        sender.send_due(offline, mailer(smtp.url), now)
        now = database.scalar("SELECT next_attempt_at FROM notification_outbox WHERE channel_id = 2")
    assert database.query("SELECT attempts, failed_at IS NOT NULL, last_error FROM notification_outbox"
                          " WHERE channel_id = 2") == [(sender.MAX_ATTEMPTS, True, "HTTP 500")]
    assert [sender.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_aln004_one_notification_per_state_change_and_ack_only_where_wanted(database, offline, smtp, hook):
    raise_now(offline)
    raise_now(offline, T0 + timedelta(seconds=5))
    alarm_id = database.scalar("SELECT id FROM alarms")
    with session_scope(offline) as conn:
        lifecycle.acknowledge(conn, alarm_id, T0 + timedelta(seconds=6), "alice", "on it")
        lifecycle.clear_alarm(conn, alarm_id, T0 + timedelta(seconds=7), "alice", "fixed")
        lifecycle.clear_alarm(conn, alarm_id, T0 + timedelta(seconds=8), "bob", "again")
    rows = database.query("SELECT c.type, o.event FROM notification_outbox o JOIN notification_channels c"
                          " ON c.id = o.channel_id ORDER BY o.id")
    assert rows == [("email", "raised"), ("webhook", "raised"), ("email", "acknowledged"), ("email", "cleared"),
                    ("webhook", "cleared")]
    sender.send_due(offline, mailer(smtp.url), T0 + timedelta(seconds=9))
    ack = next(m for m in smtp.messages if "reconhecido" in m["Subject"])
    assert "Comentário de alice: on it" in ack.get_content()


def test_aln005_unacknowledged_critical_alarms_are_renotified_every_4_hours(database, offline, smtp, hook):
    with session_scope(offline) as conn:
        evaluation.ensure_default_rules(conn)
    database.execute("UPDATE alarm_rules SET severity = 'critical'")
    raise_now(offline)
    raised_at = database.scalar("SELECT raised_at FROM alarms")
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=3, minutes=59), 4) == 0
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=4), 4) == 1
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=4, minutes=1), 4) == 0
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=8), 4) == 1
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=99), 0) == 0  # 0: never
    with session_scope(offline) as conn:
        lifecycle.acknowledge(conn, database.scalar("SELECT id FROM alarms"), raised_at, "alice", None)
    assert reminders.renotify_due(offline, raised_at + timedelta(hours=24), 4) == 0
    keys = [r[0] for r in database.query("SELECT DISTINCT event_key FROM notification_outbox ORDER BY 1")]
    assert keys == ["acknowledged", "raised", "renotify:1", "renotify:2"]


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.test", ("mail.test", 25, False, False, None, None)),
    ("smtp://u%40x:p%3Ass@mail.test:587?starttls=true", ("mail.test", 587, False, True, "u@x", "p:ss")),
    ("smtps://mail.test", ("mail.test", 465, True, False, None, None)),
])
def test_aln006_smtp_urls(url, expected):
    target = transports.SmtpTarget.from_url(url)
    assert (target.host, target.port, target.ssl, target.starttls, target.username, target.password) == expected


def test_aln007_signature_is_hmac_sha256_of_the_body():
    # The RFC 4231-style vector everyone checks against (key "key", the quick brown fox).
    assert transports.signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")


def test_aln008_queued_notifications_survive_a_restart_and_a_bad_row_does_not_block(database, offline, smtp, hook):
    raise_now(offline)
    offline.dispose()  # the process that raised it is gone before any send
    database.execute("INSERT INTO notification_outbox (alarm_id, channel_id, event, event_key, payload, next_attempt_at)"
                     " VALUES (NULL, 1, 'test', 'broken', '{}', %s)", (T0,))  # a payload nothing can render
    restarted = database.engine()
    assert sender.send_due(restarted, mailer(smtp.url), T0 + timedelta(seconds=5)) == {"sent": 2, "failed": 1}
    assert len(smtp.messages) == 1 and len(hook.requests) == 1
    assert database.scalar("SELECT last_error FROM notification_outbox WHERE event_key = 'broken'") == "KeyError: 'severity'"


def test_aln009_a_failing_rule_is_logged_and_the_others_still_run(database, offline, caplog):
    database.execute("INSERT INTO alarm_rules (account_id, kind, name, severity, params) VALUES (NULL,"
                     " 'ingest_stalled', 'broken', 'minor', '{\"minutes\": \"soon\"}')")  # a TypeError while observing
    assert raise_now(offline)["raised"] == 1  # the gateway alarm all the same
    assert "alarm rule" in caplog.text and "failed to evaluate" in caplog.text


def test_aln010_starttls_and_login_when_the_url_asks_for_them(database, offline, hook, tmp_path, monkeypatch):
    from tests.alarm_tools import self_signed_tls

    context, certificate = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the client verifies the server against this CA
    server = SmtpServer(tls_context=context, credentials=("alarms", "p@ss")).start()
    try:
        raise_now(offline)
        url = f"smtp://alarms:p%40ss@localhost:{server.port}?starttls=true"
        assert sender.send_due(offline, mailer(url), T0 + timedelta(seconds=2)) == {"sent": 2, "failed": 0}
        plain = f"smtp://alarms:p%40ss@localhost:{server.port}"  # without STARTTLS the server refuses
        with pytest.raises(transports.DeliveryError):
            transports.send_email(plain, "a@tds.test", "b@tds.test", "s", "b")
    finally:
        server.stop()
    assert len(server.messages) == 1 and server.logins == ["alarms"]


@pytest.mark.parametrize("url, ok", [
    ("smtp://mail.test:25", True), ("smtps://u:p@mail.test", True), ("smtp://u:p@mail.test:587?starttls=true", True),
    ("smtp://u:p@mail.test:25", False), ("http://mail.test", False), ("smtp://", False),
])
def test_aln011_smtp_settings_refuse_clear_text_passwords(url, ok):
    from tds_dash.settings import SettingsError, load_settings

    if ok:
        assert load_settings({"TDS_SMTP_URL": url}).smtp_url == url
    else:
        with pytest.raises(SettingsError):
            load_settings({"TDS_SMTP_URL": url})


def test_aln012_a_redirecting_receiver_is_a_failure_not_followed(hook):
    hook.status = 302
    with pytest.raises(transports.DeliveryError, match="HTTP 302"):
        transports.post_webhook(hook.url, SECRET, b"{}", allow_private=True)
    assert len(hook.requests) == 1


def test_aln013_webhooks_to_this_machine_or_the_lan_are_refused_by_default(database):
    """SSRF guard: a channel naming a loopback or private address is a failed delivery, never a request."""
    hook = WebhookReceiver().start()
    try:
        for url in (hook.url, "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/x"):
            with pytest.raises(transports.DeliveryError, match="non-public address"):
                transports.post_webhook(url, SECRET, b"{}")
        assert hook.requests == []  # nothing reached the receiver
        assert transports.post_webhook(hook.url, SECRET, b"{}", allow_private=True).startswith("HTTP 2")
    finally:
        hook.stop()
