"""Presence end to end: a real Mosquitto, the real ingest (status topic), real schedulers on PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED

from ingest import simulator
from tds_dash.background.scheduler import start_scheduler
from tests.helpers import publish, settings_for, telemetry, topic, wait_until

UTC = timezone.utc

# A gateway as firmware would do it: a will on its status topic, a retained birth, one telemetry message,
# then it hangs around until it is killed (SIGKILL: no DISCONNECT, so the broker publishes the will).
GATEWAY = r"""
import sys, time, json, datetime
import paho.mqtt.client as mqtt
host, port, account, serial = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
status = f"tds/{account}/{serial}/status"
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gw-{serial}", protocol=mqtt.MQTTv5)
client.will_set(status, b"offline", qos=1, retain=True)
client.connect(host, port, keepalive=30)
client.loop_start()
client.publish(status, b"online", qos=1, retain=True).wait_for_publish(5)
now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
body = {"v": 1, "ts": now, "readings": [{"device": "MED-001", "metric": "energy_kwh", "value": 1.5}]}
client.publish(f"tds/{account}/{serial}/telemetry", json.dumps(body), qos=1).wait_for_publish(5)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def gateway(database):
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1))
    return database.scalar("SELECT id FROM gateways WHERE serial = 'GW-0101'")


def status_of(database) -> tuple:
    return database.query("SELECT status, status_reason FROM gateways WHERE serial = 'GW-0101'")[0]


def test_prm001_killed_gateway_with_a_will_is_offline_within_5_seconds(database, fresh_mosquitto, ingest, gateway):
    # A private broker: the retained status messages of this test must not reach other tests' subscribers.
    ingest(broker=fresh_mosquitto)
    process = subprocess.Popen([sys.executable, "-c", GATEWAY, fresh_mosquitto.host, str(fresh_mosquitto.port),
                                "acme", "GW-0101"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        wait_until(lambda: status_of(database) == ("online", "birth"), message="birth marks it online")
        wait_until(lambda: database.scalar("SELECT count(*) FROM readings") == 1)
        process.kill()
        killed = time.monotonic()
        wait_until(lambda: status_of(database) == ("offline", "will"), timeout=5, interval=0.02,
                   message="offline by its will")
        print(f"offline {time.monotonic() - killed:.2f} s after the kill")
    finally:
        process.kill()
        process.wait(5)
    assert database.query("SELECT kind, reason FROM fleet_events ORDER BY id") == [
        ("gateway_online", "birth"), ("gateway_offline", "will")]
    assert database.scalar("SELECT count(*) FROM rejected_messages") == 0


def test_prm002_status_topic_bad_input_is_rejected_and_retained_noise_ignored(database, fresh_mosquitto, ingest,
                                                                                gateway):
    # Retained messages already on the broker when the ingest subscribes are replays.
    _publish_retained(fresh_mosquitto, "tds/acme/GW-GHOST/status", b"offline")
    _publish_retained(fresh_mosquitto, "tds/acme/GW-0101/status", b"online")
    handle = ingest(broker=fresh_mosquitto)
    publish(fresh_mosquitto, [("tds/acme/GW-0101/status", b"maybe"), ("tds/acme/GW-NEW/status", b"online"),
                              ("tds/acme/GW-0101/status", "x" * 100)])
    wait_until(lambda: database.scalar("SELECT count(*) FROM rejected_messages") == 3)
    assert database.query("SELECT reason, gateway_serial FROM rejected_messages ORDER BY id") == [
        ("invalid_status", "GW-0101"), ("unknown_gateway", "GW-NEW"), ("invalid_status", "GW-0101")]
    # The replayed birth stored nothing as evidence: the gateway was never seen.
    assert database.query("SELECT status, birth_at FROM gateways") == [(None, None)]
    assert handle.status.is_alive() and handle.writer.is_alive()


def _publish_retained(broker, msg_topic: str, payload: bytes) -> None:
    import paho.mqtt.publish as mqtt_publish

    mqtt_publish.single(msg_topic, payload, qos=1, retain=True, hostname=broker.host, port=broker.port)


class FakeClock:
    """Real time plus an offset the test moves: the schedulers see time pass without the test sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += timedelta(seconds=seconds)


def test_prm003_silent_gateway_goes_offline_once_with_two_schedulers(database, mosquitto, ingest, gateway):
    database.execute("UPDATE gateways SET inactivity_timeout_s = 30")
    ingest()
    settings = settings_for(database, mosquitto, TDS_PRESENCE_CHECK_SECONDS="1")
    clock = FakeClock()
    runs = []
    schedulers = [start_scheduler(settings, clock=clock) for _ in range(2)]
    try:
        for index, scheduler in enumerate(schedulers):
            scheduler.add_listener(lambda event, i=index: runs.append(i) if event.job_id == "presence-gateways"
                                   else None, EVENT_JOB_EXECUTED)
        publish(mosquitto, [(topic("acme", "GW-0101"),
                             telemetry([{"device": "MED-001", "metric": "energy_kwh", "value": 1.0}]))])
        wait_until(lambda: status_of(database) == ("online", "message"), timeout=5)
        last_seen = database.scalar("SELECT last_seen_at FROM gateways")
        clock.advance(31)  # past the 30 s timeout, without waiting for it
        wait_until(lambda: status_of(database) == ("offline", "silent"), timeout=3,
                   message="offline within a few seconds of the timeout")
        seen_runs = len(runs)
        wait_until(lambda: set(runs[seen_runs:]) == {0, 1}, timeout=5, message="both schedulers ran again")
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert database.query("SELECT kind, reason, at FROM fleet_events ORDER BY id") == [
        ("gateway_online", "message", last_seen), ("gateway_offline", "silent", last_seen + timedelta(seconds=30))]
    assert database.scalar("SELECT count(*) FROM gateway_presence") == 2
