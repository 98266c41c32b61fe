"""Alarms end to end: a real gateway's Last Will through Mosquitto and the real ingest, the real scheduler,
e-mail to a real SMTP server and a signed webhook to a real HTTP receiver."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ingest import simulator
from tds_dash.background.scheduler import start_scheduler
from tests.alarm_tools import SmtpServer, WebhookReceiver
from tests.helpers import settings_for, wait_until
from tests.test_presence_mqtt import GATEWAY, FakeClock

SECRET = "webhook-secret"


@pytest.fixture
def receivers():
    smtp, hook = SmtpServer().start(), WebhookReceiver().start()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def start_gateway(broker) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", GATEWAY, broker.host, str(broker.port), "acme", "GW-0101"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(5)


@pytest.mark.slow
def test_alq001_killed_gateway_one_alarm_mail_and_webhook_then_cleared_on_reconnect(database, fresh_mosquitto,
                                                                                     ingest, receivers):
    smtp, hook = receivers
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1))
    database.execute("UPDATE gateways SET inactivity_timeout_s = 3600")  # the fake clock jumps 5 min below
    database.execute("INSERT INTO notification_channels (account_id, type, target) SELECT id, 'email', 'ops@acme.test'"
                     " FROM accounts")
    database.execute("INSERT INTO notification_channels (account_id, type, target, secret) SELECT id, 'webhook', %s, %s"
                     " FROM accounts", (hook.url, SECRET))
    ingest(broker=fresh_mosquitto)
    settings = settings_for(database, fresh_mosquitto, TDS_PRESENCE_CHECK_SECONDS="1", TDS_ALARM_GRACE_SECONDS="0",
                            TDS_WEBHOOK_ALLOW_PRIVATE="true",  # the receiver is on loopback
                            TDS_SMTP_URL=smtp.url)
    clock = FakeClock()
    scheduler = start_scheduler(settings, clock=clock)
    gateway = start_gateway(fresh_mosquitto)
    try:
        wait_until(lambda: database.scalar("SELECT status FROM gateways") == "online", message="birth")
        stop(gateway)
        killed = time.monotonic()
        wait_until(lambda: len(smtp.messages) == 1 and len(hook.requests) == 1, timeout=10, interval=0.1,
                   message="one e-mail and one webhook within 10 s of the kill")
        print(f"notified {time.monotonic() - killed:.1f} s after the kill")
        assert "disparado" in smtp.messages[0]["Subject"]
        assert [d["event"] for d in hook.documents(SECRET)] == ["raised"]
        gateway = start_gateway(fresh_mosquitto)
        wait_until(lambda: database.scalar("SELECT status FROM gateways") == "online", message="back online")
        wait_until(lambda: database.scalar("SELECT clearing_since FROM alarms") is not None, message="clearing")
        clock.advance(301)  # online for the rule's 5-minute clear delay, without waiting for it
        wait_until(lambda: len(smtp.messages) == 2 and len(hook.requests) == 2, timeout=10, interval=0.1,
                   message="cleared: one more e-mail and webhook")
    finally:
        stop(gateway)
        scheduler.shutdown(wait=True)
    assert "normalizado" in smtp.messages[1]["Subject"]
    assert [d["event"] for d in hook.documents(SECRET)] == ["raised", "cleared"]
    # The fake clock jumped 5 minutes past the last real ingest minute, so the (system) ingest-stalled rule
    # may rightly raise too: this test is about the gateway's alarm, counted once and cleared.
    assert database.query("SELECT kind, count, cleared_at IS NOT NULL FROM alarms WHERE kind <> 'ingest_stalled'") == [
        ("gateway_offline", 1, True)]
