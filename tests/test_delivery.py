"""Delivery guarantees with real parts: the app SIGKILLed and SIGTERMed mid-stream, PostgreSQL stopped during a
stream, the broker restarted, several ingest processes sharing the stream. Every test compares the exact set of
(gateway, device, metric, ts) published with the set stored, and the row count with the published count.
"""
from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from ingest.service import slot_client_id
from ingest.simulator import build_fleet, provision_fleet
from tests.delivery_tools import (
    AppProcess,
    LimitedBroker,
    PersistentBroker,
    PrivatePostgres,
    Stream,
    app_env,
    count_readings,
    create_session,
    expected_keys,
    stored_keys,
    stream_messages,
    terminate,
)
from tests.helpers import publish, purge_session, telemetry, unique_name, wait_until

TOPIC = "tds/+/+/telemetry"


@pytest.fixture
def fleet(database):
    gateways = build_fleet(["acme"], 4, 3, serial_prefix="DLV")
    provision_fleet(database.engine(), gateways)
    return gateways


@pytest.fixture
def processes():
    """AppProcess objects a test starts; any still running at the end is killed."""
    started: list[AppProcess] = []
    yield started
    for process in started:
        process.close()


def assert_exactly_once(database, messages) -> None:
    """Every published reading stored, none twice (the primary key forbids it; the count proves nothing extra)."""
    expected = expected_keys(messages)
    wait_until(lambda: count_readings(database) >= len(expected), timeout=60,
               message=f"{len(expected)} readings stored")
    assert count_readings(database) == len(expected)
    assert stored_keys(database) == expected


def health(port: int) -> dict | None:
    """GET /api/health of an app process; None while it does not answer yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 503 still carries the JSON body
        return json.loads(error.read())
    except OSError:
        return None


# --------------------------------------------------------------------------- the app process

def test_dlv001_app_sigkilled_mid_stream_then_restarted_stores_every_reading_once(database, mosquitto, fleet,
                                                                                  processes, tmp_path):
    client_id = unique_name("tds-dlv001-")
    create_session(mosquitto, client_id, TOPIC)  # as if the app had run before: the broker queues for it
    env = app_env(database, mosquitto, client_id)
    messages = stream_messages(fleet, 1500, readings=10)
    processes.append(AppProcess("run", env, tmp_path / "first.log"))
    stream = Stream(mosquitto, messages, rate=400)
    stream.start()
    try:
        wait_until(lambda: count_readings(database) >= 2000, timeout=30, message="the first app is storing")
        processes[0].signal(signal.SIGKILL)  # mid-stream: batches in flight, some committed but not acked
        processes[0].wait(10)
        stored_at_kill = count_readings(database)
        processes.append(AppProcess("run", env, tmp_path / "second.log"))
        stream.join(60)
        assert not stream.is_alive() and stream.error is None and stream.acked == len(messages)
        assert stored_at_kill < len(expected_keys(messages)), "the kill did not land mid-stream"
        assert_exactly_once(database, messages)
        # Redelivered messages were absorbed as duplicates, not stored twice.
        assert database.query("SELECT last_seq, seq_gaps FROM gateways ORDER BY serial") == [
            (len(messages) // len(fleet) - 1, 0)] * len(fleet)
        assert terminate([processes[1]], signal.SIGINT)[0] < 10  # Ctrl-C: a clean stop within seconds
        assert "stopped" in processes[1].output()
    finally:
        purge_session(mosquitto, client_id)


def test_dlv002_sigterm_flushes_and_acknowledges_then_restart_gets_no_redelivery(database, mosquitto, fleet,
                                                                                 processes, tmp_path):
    client_id = unique_name("tds-dlv002-")
    create_session(mosquitto, client_id, TOPIC)
    env = app_env(database, mosquitto, client_id)
    messages = stream_messages(fleet, 1200, readings=10)
    processes.append(AppProcess("run", env, tmp_path / "first.log"))
    stream = Stream(mosquitto, messages, rate=400)
    stream.start()
    try:
        wait_until(lambda: count_readings(database) >= 2000, timeout=30, message="the first app is storing")
        seconds = terminate([processes[0]], signal.SIGTERM)[0]
        assert seconds < 10, f"SIGTERM took {seconds:.1f} s"
        assert "stopped" in processes[0].output()
        env2 = app_env(database, mosquitto, client_id)
        processes.append(AppProcess("run", env2, tmp_path / "second.log"))
        stream.join(60)
        assert stream.error is None and stream.acked == len(messages)
        assert_exactly_once(database, messages)
        # Everything the first app committed it also acknowledged before disconnecting: the second one was
        # handed nothing already stored.
        body = wait_until(lambda: health(int(env2["PORT"])), timeout=15, message="second app answers")
        assert body["ingest"]["readings_duplicate"] == 0, body["ingest"]
    finally:
        purge_session(mosquitto, client_id)


# --------------------------------------------------------------------------- PostgreSQL outage
# A private server (not the session's): the test stops it with pg_ctl, as an operator or a crash would,
# so the writer sees real connection failures (FATAL on its session, then connection refused).

@pytest.fixture
def private_pg():
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.start()  # a failed test may have left it stopped; cleanup stops and deletes it
        server.cleanup()


def outage_fleet(private_pg):
    gateways = build_fleet(["acme"], 4, 3, serial_prefix="OUT")
    provision_fleet(private_pg.database.engine(), gateways)
    return gateways


def test_dlv003_database_outage_acks_nothing_unstored_bounds_the_queue_and_catches_up(private_pg, mosquitto,
                                                                                       ingest):
    """PostgreSQL stopped for 5 s mid-stream (bench/outage.py does 60 s): nothing acknowledged while it is down,
    the queue stays under its bound while the broker holds the rest, then everything is stored once."""
    database = private_pg.database
    messages = stream_messages(outage_fleet(private_pg), 800, readings=10)
    handle = ingest(database=database, TDS_INGEST_QUEUE_SIZE=300, TDS_INGEST_BATCH_SIZE=500)
    stream = Stream(mosquitto, messages, rate=200)
    stream.start()
    wait_until(lambda: count_readings(database) >= 500, timeout=20, message="storing before the outage")
    private_pg.stop()
    acked_at_stop = handle.stats.snapshot()["acknowledged"]
    wait_until(lambda: handle.stats.snapshot()["last_error"], timeout=10, message="the writer saw the outage")
    wait_until(lambda: handle.inbox.qsize() >= 250, timeout=20, message="the queue filled up")
    for _ in range(25):  # the outage itself, 5 s: nothing acknowledged, nothing crashed, still connected
        assert handle.stats.snapshot()["acknowledged"] == acked_at_stop
        assert handle.writer.is_alive() and handle.subscriber.connected.is_set()
        time.sleep(0.2)
    private_pg.start()
    stream.join(60)
    assert stream.error is None and stream.acked == len(messages)
    assert_exactly_once(database, messages)
    stats = handle.stats.snapshot()
    # The bound: weight is readings + 1 per message, and one message may enter when the queue is just below it.
    assert stats["queue_high_water"] <= 300 + 10, stats["queue_high_water"]
    assert stats["acknowledged"] == len(messages) and stats["last_error"] is None



def test_dlv004_stop_during_an_outage_returns_and_the_next_start_loses_nothing(private_pg, mosquitto, ingest):
    """Stopping while PostgreSQL is down cannot flush: it gives up within its timeout without acknowledging,
    and the broker hands everything unstored to the next start (same client id)."""
    database = private_pg.database
    messages = stream_messages(outage_fleet(private_pg), 300, readings=10)
    first = ingest(database=database, TDS_INGEST_QUEUE_SIZE=300)
    client_id = first.subscriber.client._client_id.decode()
    stream = Stream(mosquitto, messages, rate=300)
    stream.start()
    wait_until(lambda: count_readings(database) >= 300, timeout=20, message="storing before the outage")
    private_pg.stop()
    wait_until(lambda: first.stats.snapshot()["last_error"], timeout=10, message="the writer saw the outage")
    began = time.monotonic()
    first.stop(timeout=2)
    assert time.monotonic() - began < 2 + 5 + 1
    assert not first.writer.is_alive()
    stream.join(30)  # the broker keeps acknowledging publishers and queues for the stopped session
    assert stream.error is None and stream.acked == len(messages)
    private_pg.start()
    ingest(database=database, TDS_INGEST_QUEUE_SIZE=300, TDS_MQTT_CLIENT_ID=client_id)
    assert_exactly_once(database, messages)


# --------------------------------------------------------------------------- broker restart

@pytest.fixture
def persistent_broker(tmp_path):
    broker = PersistentBroker(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_dlv005_broker_restart_mid_stream_loses_nothing_from_qos1_publishers(persistent_broker, database, fleet,
                                                                            ingest):
    """Mosquitto stopped (it saves sessions and queues) and started again on the same port mid-stream: the
    publisher resends what was not acknowledged, the ingest reconnects with backoff, resubscribes and continues."""
    handle = ingest(broker=persistent_broker)
    messages = stream_messages(fleet, 1000, readings=5)
    stream = Stream(persistent_broker, messages, rate=300)
    stream.start()
    wait_until(lambda: count_readings(database) >= 1000, timeout=20, message="storing before the restart")
    persistent_broker.stop()
    wait_until(lambda: not handle.subscriber.connected.is_set(), message="the ingest noticed")
    persistent_broker.start()
    stream.join(60)
    assert stream.error is None and stream.acked == len(messages) and stream.reconnects >= 1
    wait_until(lambda: handle.subscriber.connected.is_set(), timeout=35, message="reconnected with backoff")
    assert_exactly_once(database, messages)


# --------------------------------------------------------------------------- several ingest processes

def slot_holders(database, base_client_id: str) -> dict[int, int]:
    """OS pid -> slot of the processes holding an ingest slot (their lock connection is named with the pid)."""
    rows = database.query(
        "SELECT a.application_name, l.objid::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND l.classid::int = hashtext(%s)",
        (base_client_id,))
    return {int(name.split()[-1]): slot for name, slot in rows}


def test_dlv006_two_processes_share_the_stream_and_a_standby_takes_over_a_killed_one(database, mosquitto, fleet,
                                                                                     processes, tmp_path):
    """TDS_INGEST_SLOTS=2: two `python -m tds_dash ingest` processes split a shared subscription, a third stands
    by. One is SIGKILLed mid-stream: the standby takes its slot, i.e. its client id and persistent session, and
    gets what the dead one had not acknowledged plus what the broker kept routing to it (mosquitto 2.0.11 keeps
    routing to an offline member). Nothing lost, nothing stored twice."""
    base, group = unique_name("tds-dlv006-"), unique_name("g")
    client_ids = [slot_client_id(base, slot) for slot in range(2)]
    for client_id in client_ids:
        create_session(mosquitto, client_id, f"$share/{group}/{TOPIC}")
    env = app_env(database, mosquitto, base, TDS_INGEST_SLOTS=2, TDS_MQTT_SHARED_GROUP=group)
    try:
        processes.extend(AppProcess("ingest", env, tmp_path / f"ingest-{n}.log") for n in range(2))
        wait_until(lambda: set(slot_holders(database, base).values()) == {0, 1}, timeout=20,
                   message="both slots claimed")
        standby = AppProcess("ingest", env, tmp_path / "standby.log")
        processes.append(standby)
        wait_until(lambda: "standing by" in standby.output(), timeout=20, message="the third process stands by")
        messages = stream_messages(fleet, 2000, readings=10)
        stream = Stream(mosquitto, messages, rate=500)
        stream.start()
        wait_until(lambda: count_readings(database) >= 4000, timeout=30, message="both are storing")
        victim, survivor = processes[0], processes[1]
        victim.signal(signal.SIGKILL)
        victim.wait(10)
        wait_until(lambda: standby.pid in slot_holders(database, base), timeout=20,
                   message="the standby took the dead process's slot")
        stream.join(60)
        assert stream.error is None and stream.acked == len(messages)
        assert_exactly_once(database, messages)
        assert max(terminate([survivor, standby])) < 15
        per_process = dict(database.query("SELECT split_part(process, ':', 2)::int, sum(messages)::int"
                                          " FROM ingest_minutes GROUP BY 1"))
        assert per_process.get(survivor.pid, 0) > 0 and per_process.get(standby.pid, 0) > 0, per_process
    finally:
        for client_id in client_ids:
            purge_session(mosquitto, client_id)


# --------------------------------------------------------------------------- hostile input through the broker
# tests/test_payload.py fuzzes the parser itself; here the corpus goes through mosquitto and the running ingest.

def _body(ts, readings, **extra) -> bytes:
    return json.dumps({"v": 1, "ts": ts, "readings": readings, **extra}, separators=(",", ":")).encode()


def hostile_corpus(ok_ts: str) -> list[tuple[str, bytes, str, int, int]]:
    """(name, payload, reason, readings refused, readings kept) for gateway DLV-0101 of account acme."""
    good = {"device": "MED-001", "metric": "power_kw", "value": 1.5}
    other = {"device": "MED-002", "metric": "power_kw", "value": 2.5}
    one = _body(ok_ts, [good])
    many = [{"device": "MED-001", "metric": "power_kw", "value": i, "ts": 1795780800000 + i} for i in range(100_000)]
    return [
        ("truncated_json", one[: len(one) // 2], "invalid_json", 0, 0),
        ("deep_nesting", b'{"v":1,"ts":"' + ok_ts.encode() + b'","readings":' + b"[" * 100_000 + b"]" * 100_000
         + b"}", "invalid_json", 0, 0),
        ("huge_array", _body(ok_ts, [0] * 120_000), "too_many_readings", 0, 0),
        ("ten_mb_string", _body(ok_ts, [good], note="x" * 10_000_000), "payload_too_large", 0, 0),
        ("hundred_thousand_readings", _body(ok_ts, many), "payload_too_large", 0, 0),
        ("version_as_string", one.replace(b'"v":1', b'"v":"1"'), "unsupported_version", 0, 0),
        ("readings_not_an_array", _body(ok_ts, "MED-001"), "invalid_schema", 0, 0),
        ("value_as_string", _body(ok_ts, [{**good, "value": "1.5"}]), "invalid_value", 0, 0),
        ("boolean_value", _body(ok_ts, [{**good, "value": True}]), "invalid_value", 0, 0),
        ("nan_only", one.replace(b'"value":1.5', b'"value":NaN'), "non_finite_value", 0, 0),
        ("infinity_beside_a_good_reading", _body(ok_ts, [{**good, "value": 7.0}, other]).replace(b'"value":7.0',
                                                                                                 b'"value":Infinity'),
         "non_finite_value", 1, 1),
        ("duplicate_keys", one.replace(b'{"v":1,', b'{"v":1,"v":1,'), "invalid_json", 0, 0),
        ("invalid_utf8", one.replace(b'"MED-001"', b'"MED-\xc3\x28"'), "invalid_encoding", 0, 0),
        ("year_1900", _body("1900-01-01T00:00:00Z", [good]), "invalid_timestamp", 0, 0),
        ("year_3000", _body("3000-01-01T00:00:00Z", [good]), "future_timestamp", 0, 0),
        ("year_3000_reading_beside_a_good_one", _body(ok_ts, [{**other, "ts": "3000-01-01T00:00:00Z"}, good]),
         "future_timestamp", 1, 1),
    ]


def test_dlv007_hostile_payloads_through_the_broker_each_get_a_reason_and_ingest_carries_on(database, fleet,
                                                                                           ingest, mosquitto):
    handle = ingest()
    gateway = fleet[0]
    ok_ts = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(timespec="milliseconds")
    corpus = hostile_corpus(ok_ts)
    good_after = stream_messages([gateway], 1, readings=4)
    publish(mosquitto, [(gateway.topic, payload) for _name, payload, *_ in corpus]
            + [(message.topic, message.payload) for message in good_after])

    wait_until(lambda: handle.stats.snapshot()["messages"] == len(corpus) + 1, timeout=30,
               message="every message handled")
    # One row per message (partial ones are written after whole ones in a batch: match them by payload size).
    rows = database.query("SELECT payload_size, reason, readings_rejected, readings_accepted,"
                          " length(payload_excerpt) FROM rejected_messages")
    assert sorted(row[:4] for row in rows) == sorted((len(payload), reason, refused, kept)
                                                     for _name, payload, reason, refused, kept in corpus)
    assert max(row[4] for row in rows) == 4096  # only an excerpt is kept, even of the 10 MB message
    # Good readings beside bad ones are kept (docs/mqtt.md), and the ingest is still storing afterwards.
    kept = {(code, ts.year) for code, ts in database.query(
        "SELECT d.code, r.ts FROM readings r JOIN devices d ON d.id = r.device_id WHERE r.value IN (2.5, 1.5)")}
    assert kept == {("MED-002", datetime.fromisoformat(ok_ts).year), ("MED-001", datetime.fromisoformat(ok_ts).year)}
    assert expected_keys(good_after) <= stored_keys(database)
    stats = handle.stats.snapshot()
    assert handle.writer.is_alive() and handle.subscriber.connected.is_set()
    assert stats["queue_high_water"] <= handle.inbox.maxsize + 5001


@pytest.fixture
def limited_broker(tmp_path):
    """Listed before `ingest` in a test's arguments, so the ingest stops while its broker is still up."""
    broker = LimitedBroker(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_dlv008_oversized_message_dropped_by_the_broker_shows_as_a_sequence_gap(limited_broker, database, fleet,
                                                                                ingest):
    """With message_size_limit, mosquitto PUBACKs an MQTT 3.1.1 publish that is too big and drops it (an MQTT 5
    publisher is disconnected instead): the gateway cannot tell, the ingest never sees it, the seq gap shows it."""
    ingest(broker=limited_broker)
    gateway = fleet[0]
    first, second = stream_messages([gateway], 3, readings=2)[0::2]
    huge = telemetry([{"device": "MED-001", "metric": "power_kw", "value": 1.0}], seq=1,
                     at=datetime.now(timezone.utc) - timedelta(minutes=1))[:-1] + b',"x":"' + b"x" * 400_000 + b'"}'
    publish(limited_broker, [(gateway.topic, first.payload), (gateway.topic, huge), (gateway.topic, second.payload)],
            protocol=4)
    wait_until(lambda: database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s",
                                      (gateway.serial,)) == [(2, 1)], message="the gap counted")
    assert database.scalar("SELECT count(*) FROM rejected_messages") == 0
    assert stored_keys(database) == expected_keys([first, second])
