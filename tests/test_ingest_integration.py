"""The ingest path end to end: a gateway publishes over a real mosquitto, start_ingest() stores in PostgreSQL."""
from __future__ import annotations

import json
import queue
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest.inbox import STOP, Envelope
from ingest.payload import parse_message
from ingest.simulator import LivePublisher, build_fleet, build_payload, provision_fleet, readings_at
from ingest.stats import IngestStats
from ingest.writer import BatchWriter
from tests.helpers import now_ms, publish, telemetry, topic, wait_until

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
UTC = timezone.utc

ACME_GW = "GW-0101"   # build_fleet(["acme", "globex"], 1, 3): GW-0101 belongs to acme, GW-0201 to globex
GLOBEX_GW = "GW-0201"


@pytest.fixture
def fleet(database):
    """Two accounts with one gateway of three devices each (MED-001, MED-002 energy meters, HID-003 water)."""
    gateways = build_fleet(["acme", "globex"], 1, 3)
    provision_fleet(database.engine(), gateways)
    return {gateway.serial: gateway for gateway in gateways}


def ids(database, serial: str) -> tuple[int, int]:
    """(account id, gateway id) of a gateway."""
    return database.query("SELECT account_id, id FROM gateways WHERE serial = %s", (serial,))[0]


def readings(database, where: str = "TRUE", params=None) -> list[tuple]:
    """(account, gateway, device, metric, ts, value, account_id, gateway_id) ordered by ts, device, metric."""
    return database.query(
        "SELECT a.slug, g.serial, d.code, m.name, r.ts, r.value, r.account_id, r.gateway_id"
        " FROM readings r JOIN devices d ON d.id = r.device_id JOIN gateways g ON g.id = d.gateway_id"
        " JOIN accounts a ON a.id = d.account_id JOIN metrics m ON m.id = r.metric_id"
        f" WHERE {where} ORDER BY r.ts, d.code, m.name", params)


def count(database, table: str = "readings") -> int:
    return database.scalar(f"SELECT count(*) FROM {table}")


def rejected(database) -> list[dict]:
    with database.connect() as conn:
        cursor = conn.execute(
            "SELECT topic, reason, detail, account_slug, gateway_serial, readings_rejected, readings_accepted,"
            " payload_size, payload_excerpt FROM rejected_messages ORDER BY id")
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def reading(device: str, metric: str, value, ts=None) -> dict:
    item = {"device": device, "metric": metric, "value": value}
    if ts is not None:
        item["ts"] = ts
    return item


# --------------------------------------------------------------------------- storing

def test_ing001_published_messages_are_stored_with_utc_instants_and_fleet_ids(database, fleet, ingest, mosquitto):
    handle = ingest()
    acme = fleet[ACME_GW]
    first = now_ms() - timedelta(minutes=2)
    second = first + timedelta(minutes=1)
    # A third message (a day older: within the late-data window) states its instants with a -03:00
    # offset and as epoch milliseconds.
    day_before = (first - timedelta(days=1)).replace(microsecond=250000)
    local = day_before.astimezone(SAO_PAULO)
    epoch_ms = int((day_before + timedelta(seconds=30)).timestamp() * 1000)
    odd = telemetry([reading("MED-001", "energy_kwh", 1234.5),
                     reading("MED-002", "power_kw", 7, ts=epoch_ms)], at=local.isoformat(timespec="milliseconds"))
    publish(mosquitto, [(acme.topic, build_payload(acme, first, 0)),
                                   (acme.topic, build_payload(acme, second, 1)),
                                   (acme.topic, odd)])

    per_message = len(readings_at(acme, first))  # 2 energy meters x 2 metrics + 1 water meter = 5
    assert per_message == 5
    wait_until(lambda: count(database) == 2 * per_message + 2, message="all readings stored")

    account_id, gateway_id = ids(database, ACME_GW)
    rows = readings(database)
    expected = sorted(
        [("acme", ACME_GW, r["device"], r["metric"], at, r["value"], account_id, gateway_id)
         for at in (first, second) for r in readings_at(acme, at)]
        + [("acme", ACME_GW, "MED-001", "energy_kwh", day_before.astimezone(UTC), 1234.5, account_id, gateway_id),
           ("acme", ACME_GW, "MED-002", "power_kw", datetime.fromtimestamp(epoch_ms / 1000, UTC), 7.0,
            account_id, gateway_id)],
        key=lambda row: (row[4], row[2], row[3]))
    assert rows == expected
    assert all(row[4].utcoffset() == timedelta(0) for row in rows)

    gateway = database.query("SELECT last_seq, seq_gaps, last_seen_at FROM gateways WHERE serial = %s", (ACME_GW,))[0]
    assert gateway[:2] == (1, 0)
    assert gateway[2] is not None and abs(gateway[2] - datetime.now(UTC)) < timedelta(minutes=1)
    assert database.scalar("SELECT last_seen_at FROM gateways WHERE serial = %s", (GLOBEX_GW,)) is None
    assert rejected(database) == []
    stats = handle.stats.snapshot()
    assert (stats["messages"], stats["readings_stored"], stats["readings_duplicate"]) == (3, 12, 0)
    assert stats["rejections"] == {} and stats["last_error"] is None
    # received_at is the ingest's clock, not the gateway's
    assert database.scalar("SELECT count(*) FROM readings WHERE received_at < now() - interval '1 minute'") == 0


def test_ing002_republished_message_is_stored_once_and_counted_as_duplicate(database, fleet, ingest, mosquitto):
    handle = ingest()
    acme = fleet[ACME_GW]
    at = now_ms() - timedelta(seconds=30)
    payload = build_payload(acme, at, 7)

    publish(mosquitto, [(acme.topic, payload)])
    wait_until(lambda: count(database) == 5)
    publish(mosquitto, [(acme.topic, payload)])  # e.g. a gateway that did not get its PUBACK
    wait_until(lambda: handle.stats.snapshot()["messages"] == 2)
    # The same message twice in one batch is also one row per (device, metric, ts).
    publish(mosquitto, [(acme.topic, payload), (acme.topic, payload)])
    wait_until(lambda: handle.stats.snapshot()["messages"] == 4)

    assert count(database) == 5
    assert database.query("SELECT device_id, metric_id, ts, count(*) FROM readings GROUP BY 1, 2, 3"
                          " HAVING count(*) > 1") == []
    stats = handle.stats.snapshot()
    assert stats["readings_stored"] == 5
    assert stats["readings_duplicate"] == 15
    assert database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s", (ACME_GW,)) == [(7, 0)]
    assert rejected(database) == []


# --------------------------------------------------------------------------- rejections

BIG = 256 * 1024


def _bad_inputs(now: datetime) -> dict:
    """name -> (topic, payload, reason, readings_rejected, readings_accepted, account_slug, gateway_serial)."""
    ok_ts = now - timedelta(seconds=10)
    acme_topic = topic("acme", ACME_GW)
    good = [reading("MED-001", "power_kw", 3.5)]
    return {
        "not_json": (acme_topic, b'{"v": 1, "ts": ', "invalid_json", 0, 0, "acme", ACME_GW),
        "wrong_schema": (acme_topic, telemetry(good, at=ok_ts, extra_field=1), "invalid_schema", 0, 0,
                         "acme", ACME_GW),
        "readings_not_a_list": (acme_topic, json.dumps({"v": 1, "ts": ok_ts.isoformat(), "readings": {}}).encode(),
                                "invalid_schema", 0, 0, "acme", ACME_GW),
        "unsupported_version": (acme_topic, json.dumps({"v": 2, "ts": ok_ts.isoformat(), "readings": good}).encode(),
                                "unsupported_version", 0, 0, "acme", ACME_GW),
        "unknown_gateway": (topic("acme", "GW-9999"), telemetry(good * 1 + [reading("X-1", "power_kw", 1)], at=ok_ts),
                            "unknown_gateway", 2, 0, "acme", "GW-9999"),
        "account_mismatch": (topic("globex", ACME_GW), telemetry(good, at=ok_ts), "account_mismatch", 1, 0,
                             "globex", ACME_GW),
        "only_reading_nan": (acme_topic, telemetry(good, at=ok_ts).replace(b'"value":3.5', b'"value":NaN'), "non_finite_value", 0, 0,
                             "acme", ACME_GW),
        "non_numeric_value": (acme_topic, telemetry([reading("MED-001", "power_kw", "12.5")], at=ok_ts),
                              "invalid_value", 0, 0, "acme", ACME_GW),
        "future_timestamp": (acme_topic, telemetry(good, at=now + timedelta(minutes=10)), "future_timestamp", 0, 0,
                             "acme", ACME_GW),
        "payload_too_large": (acme_topic, telemetry(good, at=ok_ts)[:-1] + b" " * BIG + b"}", "payload_too_large",
                              0, 0, "acme", ACME_GW),
        "not_utf8": (acme_topic, b'{"v": 1, "ts": "\xff"}', "invalid_encoding", 0, 0, "acme", ACME_GW),
        "invalid_topic": (topic("ACME", ACME_GW), telemetry(good, at=ok_ts), "invalid_topic", 0, 0, "ACME", ACME_GW),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(datetime.now(UTC))))
def test_ing003_bad_input_is_rejected_and_later_messages_still_stored(database, fleet, ingest, mosquitto, case):
    handle = ingest()
    now = now_ms()
    bad_topic, payload, reason, n_rejected, n_accepted, account, gateway = _bad_inputs(now)[case]
    acme = fleet[ACME_GW]
    after = now - timedelta(seconds=5)

    publish(mosquitto, [(bad_topic, payload), (acme.topic, build_payload(acme, after, 1))])

    wait_until(lambda: count(database) == 5 and count(database, "rejected_messages") == 1,
               message="the good message stored and the bad one rejected")
    row = rejected(database)[0]
    assert (row["topic"], row["reason"]) == (bad_topic, reason), row["detail"]
    assert (row["account_slug"], row["gateway_serial"]) == (account, gateway)
    assert (row["readings_rejected"], row["readings_accepted"]) == (n_rejected, n_accepted)
    assert row["payload_size"] == len(payload)
    assert bytes(row["payload_excerpt"]) == payload[:4096]
    assert row["detail"]
    # The message after it went through untouched.
    assert {r[4] for r in readings(database)} == {after}
    stats = handle.stats.snapshot()
    assert stats["rejections"] == {reason: 1}
    assert stats["messages"] == 2
    if case == "payload_too_large":
        assert len(payload) > BIG


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_ing004_non_finite_reading_is_refused_and_its_neighbours_stored(database, fleet, ingest, mosquitto, literal):
    handle = ingest()
    at = now_ms() - timedelta(seconds=20)
    payload = (telemetry([reading("MED-001", "energy_kwh", 100.25), reading("MED-001", "power_kw", 1.5),
                          reading("MED-002", "power_kw", 2.5)], at=at, seq=3)
               .replace(b'"value":1.5', b'"value":' + literal))
    assert literal in payload and json.loads(payload)  # Python's json reads the literal, like the ingest does

    publish(mosquitto, [(topic("acme", ACME_GW), payload)])

    wait_until(lambda: count(database, "rejected_messages") == 1)
    wait_until(lambda: count(database) == 2)
    assert [(r[2], r[3], r[5]) for r in readings(database)] == [("MED-001", "energy_kwh", 100.25),
                                                                ("MED-002", "power_kw", 2.5)]
    row = rejected(database)[0]
    assert row["reason"] == "non_finite_value"
    assert (row["readings_rejected"], row["readings_accepted"]) == (1, 2)
    assert row["detail"].startswith("readings[1] non_finite_value")
    assert handle.stats.snapshot()["rejections"] == {"non_finite_value": 1}
    # A partial message still counts for the gateway's liveness and sequence.
    assert database.query("SELECT last_seq FROM gateways WHERE serial = %s", (ACME_GW,)) == [(3,)]


def test_ing005_mixed_stream_of_bad_and_good_messages_in_one_batch(database, fleet, ingest, mosquitto):
    """Every class of bad input interleaved with good messages, published back to back (batched together)."""
    ingest(TDS_INGEST_FLUSH_MS=200)
    now = now_ms()
    bad = _bad_inputs(now)
    acme = fleet[ACME_GW]
    messages, good_instants = [], []
    for index, (bad_topic, payload, *_rest) in enumerate(bad.values()):
        at = now - timedelta(seconds=60 - index)
        good_instants.append(at)
        messages += [(bad_topic, payload), (acme.topic, build_payload(acme, at, index))]
    publish(mosquitto, messages)

    wait_until(lambda: count(database, "rejected_messages") == len(bad) and count(database) == 5 * len(bad),
               message="all rejected and all good messages stored")
    assert sorted(row["reason"] for row in rejected(database)) == sorted(case[2] for case in bad.values())
    assert sorted({r[4] for r in readings(database)}) == good_instants


def test_ing006_inactive_gateway_is_rejected(database, fleet, ingest, mosquitto):
    ingest()
    database.execute("UPDATE gateways SET active = false WHERE serial = %s", (GLOBEX_GW,))
    globex = fleet[GLOBEX_GW]
    publish(mosquitto, [(globex.topic, build_payload(globex, now_ms(), 0))])
    wait_until(lambda: count(database, "rejected_messages") == 1)
    assert rejected(database)[0]["reason"] == "inactive_gateway"
    assert count(database) == 0


def test_ing006b_inactive_device_readings_are_refused_and_recorded(database, fleet, ingest, mosquitto):
    ingest()
    acme = fleet[ACME_GW]
    database.execute("UPDATE devices SET active = false WHERE code = 'HID-003'"
                     " AND gateway_id = (SELECT id FROM gateways WHERE serial = %s)", (ACME_GW,))
    publish(mosquitto, [(acme.topic, build_payload(acme, now_ms(), 0))])
    wait_until(lambda: count(database, "rejected_messages") == 1)
    row = rejected(database)[0]
    assert row["reason"] == "inactive_device"
    assert (row["readings_rejected"], row["readings_accepted"]) == (1, 4)
    assert count(database) == 4


# --------------------------------------------------------------------------- fleet learning

def test_ing007_unknown_device_under_known_gateway_is_auto_provisioned(database, fleet, ingest, mosquitto):
    ingest()
    at = now_ms() - timedelta(seconds=5)
    publish(mosquitto, [(topic("acme", ACME_GW), telemetry([reading("NEW-042:a", "energy_kwh", 10.0),
                                                              reading("MED-001", "power_kw", 1.0)], at=at))])
    wait_until(lambda: count(database) == 2)

    account_id, gateway_id = ids(database, ACME_GW)
    assert database.query(
        "SELECT gateway_id, account_id, code, name, provisioned, active FROM devices WHERE code = 'NEW-042:a'") == [
        (gateway_id, account_id, "NEW-042:a", "NEW-042:a", "auto", True)]
    assert database.scalar("SELECT provisioned FROM devices WHERE code = 'MED-001' AND gateway_id = %s",
                           (gateway_id,)) == "manual"
    assert [(r[2], r[5], r[6], r[7]) for r in readings(database, "d.code = 'NEW-042:a'")] == [
        ("NEW-042:a", 10.0, account_id, gateway_id)]
    assert rejected(database) == []


def test_ing008_unknown_metric_is_learned_as_a_gauge(database, fleet, ingest, mosquitto):
    ingest()
    at = now_ms() - timedelta(seconds=5)
    publish(mosquitto, [(topic("acme", ACME_GW), telemetry([reading("MED-001", "pressure_bar", 2.25)], at=at))])
    wait_until(lambda: count(database) == 1)
    assert database.query("SELECT unit, meter_kind, known FROM metrics WHERE name = 'pressure_bar'") == [
        ("", "gauge", False)]
    assert database.scalar("SELECT consumption FROM readings") is None


@pytest.mark.parametrize("batching", ["one_publish", "message_by_message"])
def test_ing009_sequence_gaps_are_counted(database, fleet, ingest, mosquitto, batching):
    ingest()
    acme = fleet[ACME_GW]
    start = now_ms() - timedelta(minutes=1)
    messages = [(acme.topic, build_payload(acme, start + timedelta(seconds=i), seq)) for i, seq in
                enumerate([0, 1, 2, 5])]
    if batching == "one_publish":
        publish(mosquitto, messages)
    else:
        for done, message in enumerate(messages, start=1):
            publish(mosquitto, [message])
            wait_until(lambda: count(database) == 5 * done)
    wait_until(lambda: count(database) == 20)
    wait_until(lambda: database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s",
                                      (ACME_GW,)) == [(5, 2)])
    # A redelivery of an old sequence number is not a gap, and a restart at 0 is not one either.
    publish(mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=10), 4)),
                        (acme.topic, build_payload(acme, start + timedelta(seconds=11), 0)),
                        (acme.topic, build_payload(acme, start + timedelta(seconds=12), 1))])
    wait_until(lambda: count(database) == 35)
    assert database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s", (ACME_GW,)) == [(1, 2)]


# --------------------------------------------------------------------------- consumption rollups

# Counter readings of MED-001 energy_kwh across Sao Paulo's 2025-03-31 23:00 hour (3 readings) and the
# 2025-04-01 00:00 hour (2 readings). In UTC all five fall on April 1st; cut in Sao Paulo (UTC-3) the first
# hour belongs to March 31st and to March, the second to April 1st and to April.
ENERGY = [
    (datetime(2025, 3, 31, 23, 5, tzinfo=SAO_PAULO), 1000.0),
    (datetime(2025, 3, 31, 23, 20, tzinfo=SAO_PAULO), 1002.5),
    (datetime(2025, 3, 31, 23, 50, tzinfo=SAO_PAULO), 1006.0),
    (datetime(2025, 4, 1, 0, 10, tzinfo=SAO_PAULO), 1007.0),
    (datetime(2025, 4, 1, 0, 40, tzinfo=SAO_PAULO), 1011.25),
]
HOUR_23 = datetime(2025, 4, 1, 2, tzinfo=UTC)     # 2025-03-31 23:00 -03:00
HOUR_00 = datetime(2025, 4, 1, 3, tzinfo=UTC)     # 2025-04-01 00:00 -03:00
DAY_31 = datetime(2025, 3, 31, 3, tzinfo=UTC)
DAY_01 = datetime(2025, 4, 1, 3, tzinfo=UTC)
MARCH = datetime(2025, 3, 1, 3, tzinfo=UTC)
APRIL = datetime(2025, 4, 1, 3, tzinfo=UTC)


def energy_message(index: int, seq: int | None = None) -> tuple[str, bytes]:
    at, value = ENERGY[index]
    return topic("acme", ACME_GW), telemetry([reading("MED-001", "energy_kwh", value)], at=at, seq=seq)


def rollup(database, table: str) -> list[tuple]:
    return database.query(
        f"SELECT c.bucket, c.consumption, c.count, c.min_value, c.max_value, c.last_value, c.last_ts"
        f" FROM {table} c JOIN devices d ON d.id = c.device_id JOIN metrics m ON m.id = c.metric_id"
        f" WHERE d.code = 'MED-001' AND m.name = 'energy_kwh' ORDER BY c.bucket")


def wait_for_rollups(database) -> None:
    """The rollup worker merges after the commit: wait until no changed key is left waiting."""
    wait_until(lambda: database.scalar("SELECT count(*) FROM rollup_log") == 0)


def assert_energy_rollups(database) -> None:
    wait_for_rollups(database)
    consumption = database.query(
        "SELECT r.ts, r.consumption FROM readings r JOIN metrics m ON m.id = r.metric_id"
        " WHERE m.name = 'energy_kwh' ORDER BY r.ts")
    assert consumption == [(at.astimezone(UTC), pytest.approx(c)) for (at, _), c in
                           zip(ENERGY, [0.0, 2.5, 3.5, 1.0, 4.25])]
    last_23, last_00 = ENERGY[2], ENERGY[4]
    assert rollup(database, "consumption_hourly") == [
        (HOUR_23, pytest.approx(6.0), 3, 1000.0, 1006.0, 1006.0, last_23[0]),
        (HOUR_00, pytest.approx(5.25), 2, 1007.0, 1011.25, 1011.25, last_00[0]),
    ]
    assert rollup(database, "consumption_daily") == [
        (DAY_31, pytest.approx(6.0), 3, 1000.0, 1006.0, 1006.0, last_23[0]),
        (DAY_01, pytest.approx(5.25), 2, 1007.0, 1011.25, 1011.25, last_00[0]),
    ]
    assert rollup(database, "consumption_monthly") == [
        (MARCH, pytest.approx(6.0), 3, 1000.0, 1006.0, 1006.0, last_23[0]),
        (APRIL, pytest.approx(5.25), 2, 1007.0, 1011.25, 1011.25, last_00[0]),
    ]
    # The total over any level equals the counter's increase from first to last reading.
    for table in ("consumption_hourly", "consumption_daily", "consumption_monthly"):
        assert database.scalar(f"SELECT sum(consumption) FROM {table}") == pytest.approx(ENERGY[-1][1] - ENERGY[0][1])


def test_ing010_counter_consumption_rolls_up_by_sao_paulo_hour_day_month(database, fleet, ingest, mosquitto):
    ingest()
    publish(mosquitto, [energy_message(i) for i in range(len(ENERGY))])
    wait_until(lambda: count(database) == len(ENERGY))
    assert_energy_rollups(database)


@pytest.mark.parametrize("late", [0, 1, 3, 4], ids=["first", "middle_of_hour", "first_of_next_hour", "last"])
def test_ing011_late_reading_gives_the_same_rollups_as_in_order(database, fleet, ingest, mosquitto, late):
    ingest()
    early = [energy_message(i) for i in range(len(ENERGY)) if i != late]
    publish(mosquitto, early)
    wait_until(lambda: count(database) == len(ENERGY) - 1)  # committed before the late one arrives
    publish(mosquitto, [energy_message(late)])
    wait_until(lambda: count(database) == len(ENERGY))
    assert_energy_rollups(database)


def test_ing012_delta_and_gauge_metrics_in_rollups(database, fleet, ingest, mosquitto):
    ingest()
    at = datetime(2025, 5, 10, 14, 0, tzinfo=SAO_PAULO)
    publish(mosquitto, [(topic("acme", ACME_GW), telemetry(
        [reading("MED-002", "energy_delta_kwh", 1.5), reading("MED-002", "power_kw", 4.0)], at=at)),
        (topic("acme", ACME_GW), telemetry(
            [reading("MED-002", "energy_delta_kwh", 2.0), reading("MED-002", "power_kw", 6.0)],
            at=at + timedelta(minutes=30)))])
    wait_until(lambda: count(database) == 4)
    wait_for_rollups(database)
    rows = {name: tuple(rest) for name, *rest in database.query(
        "SELECT m.name, c.consumption, c.count, c.sum_value, c.min_value, c.max_value FROM consumption_hourly c"
        " JOIN metrics m ON m.id = c.metric_id")}
    assert rows["energy_delta_kwh"] == (pytest.approx(3.5), 2, 3.5, 1.5, 2.0)
    assert rows["power_kw"] == (None, 2, 10.0, 4.0, 6.0)


# --------------------------------------------------------------------------- lifecycle

def count_received(handle) -> list:
    """Instrument the subscriber: the returned list grows by one (accepting flag) per message paho hands over."""
    received: list[bool] = []
    subscriber = handle.subscriber
    original = subscriber._on_message

    def on_message(client, userdata, msg) -> None:
        received.append(subscriber.accepting)
        original(client, userdata, msg)

    subscriber.client.on_message = on_message
    return received


def test_ing013_stop_flushes_the_pending_batch_and_acknowledges_it(database, fleet, ingest, mosquitto, settings):
    # A flush timer far longer than the test: only stop() can make the writer commit this batch.
    settings = settings.replace(ingest_flush_ms=10_000, ingest_batch_size=100_000)
    handle = ingest(settings=settings)
    received = count_received(handle)
    acme = fleet[ACME_GW]
    start = now_ms() - timedelta(minutes=5)
    n = 200
    publish(mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=i), i)) for i in range(n)])
    wait_until(lambda: len(received) == n, message="all messages handed to the writer")
    assert count(database) == 0  # still waiting in the writer's batch

    began = time.monotonic()
    handle.stop()
    assert time.monotonic() - began < 5  # did not wait for the 10 s flush timer
    assert not handle.writer.is_alive()
    assert count(database) == 5 * n
    assert handle.stats.snapshot()["messages"] == n

    # Everything was acknowledged: the same session resumed gets no redelivery, only what is new.
    again = ingest(settings=settings.replace(ingest_flush_ms=50))
    publish(mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=n), n))])
    wait_until(lambda: count(database) == 5 * (n + 1))
    assert again.stats.snapshot()["messages"] == 1
    assert again.stats.snapshot()["readings_duplicate"] == 0


def test_ing014_stop_right_after_last_puback_loses_and_duplicates_nothing(database, fleet, ingest, mosquitto,
                                                                         settings):
    """Messages still in flight from the broker when stop() runs stay in the session and come back on restart."""
    handle = ingest(settings=settings)
    acme = fleet[ACME_GW]
    start = now_ms() - timedelta(minutes=5)
    n = 200
    publish(mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=i), i)) for i in range(n)])
    handle.stop()
    stored_at_stop = count(database)
    assert stored_at_stop == 5 * handle.stats.snapshot()["messages"]

    again = ingest(settings=settings)  # same client id: the broker redelivers what was not acknowledged
    wait_until(lambda: count(database) == 5 * n, message="all messages stored after restart")
    stats = again.stats.snapshot()
    assert stats["messages"] == n - stored_at_stop // 5
    assert stats["readings_duplicate"] == 0  # nothing stored before stop() was delivered again
    assert database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s", (ACME_GW,)) == [(n - 1, 0)]


def test_ing016_messages_published_while_ingest_is_down_arrive_after_restart(database, fleet, ingest, mosquitto,
                                                                             settings):
    """The subscriber's persistent session: the broker queues for it while it is stopped."""
    acme = fleet[ACME_GW]
    start = now_ms() - timedelta(minutes=5)
    first = ingest(settings=settings)
    publish(mosquitto, [(acme.topic, build_payload(acme, start, 0))])
    wait_until(lambda: count(database) == 5)
    first.stop()

    publish(mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=i), i)) for i in range(1, 11)])
    assert count(database) == 5

    ingest(settings=settings)  # same client id: resumes the session
    wait_until(lambda: count(database) == 55)
    assert database.query("SELECT last_seq, seq_gaps FROM gateways WHERE serial = %s", (ACME_GW,)) == [(10, 0)]


def test_ing017_ingest_reconnects_after_broker_restart(fresh_mosquitto, database, fleet, ingest):
    # fresh_mosquitto first: fixtures are torn down in reverse, so the ingest stops while its broker is up.
    handle = ingest(broker=fresh_mosquitto)
    acme = fleet[ACME_GW]
    start = now_ms() - timedelta(minutes=1)
    publish(fresh_mosquitto, [(acme.topic, build_payload(acme, start, 0))])
    wait_until(lambda: count(database) == 5)

    handle.subscriber.subscribed.clear()
    fresh_mosquitto.stop()
    wait_until(lambda: not handle.subscriber.connected.is_set(), message="subscriber noticed the broker is gone")
    fresh_mosquitto.start()  # persistence false: the session is gone, on_connect subscribes again
    wait_until(lambda: handle.subscriber.subscribed.is_set(), timeout=15, message="re-subscribed after restart")

    publish(fresh_mosquitto, [(acme.topic, build_payload(acme, start + timedelta(seconds=1), 1))])
    wait_until(lambda: count(database) == 10)


def test_ing018_simulator_live_publisher_end_to_end(database, ingest, mosquitto):
    gateways = build_fleet(["sim-co"], 3, 5, serial_prefix="SIM")
    provision_fleet(database.engine(), gateways)
    handle = ingest()
    per_message = {gateway.serial: len(readings_at(gateway, datetime.now(UTC))) for gateway in gateways}
    publisher = LivePublisher(mosquitto.url, gateways, interval_s=0.05, max_messages=3 * len(gateways),
                              client_id=f"tds-test-sim-{database.name}")
    publisher.start()
    publisher.join(10)
    assert not publisher.is_alive() and publisher.published == 9

    wait_until(lambda: handle.stats.snapshot()["messages"] == 9)
    assert count(database) == 3 * sum(per_message.values())
    assert database.query("SELECT serial, last_seq, seq_gaps FROM gateways ORDER BY serial") == [
        (gateway.serial, 2, 0) for gateway in gateways]
    assert rejected(database) == []


# --------------------------------------------------------------------------- writer failure paths
# Driven without the broker: the envelopes and STOP are queued before the writer starts, so they are
# exactly one batch (deterministic), and the failure is real (PostgreSQL raises it).

def envelope(msg_topic: str, payload: bytes) -> Envelope:
    received_at = datetime.now(UTC)
    return Envelope(msg_topic, payload, received_at, message=parse_message(msg_topic, payload, now=received_at))


def run_one_batch(database, envelopes: list[Envelope]) -> IngestStats:
    inbox: queue.Queue = queue.Queue()
    for item in envelopes:
        inbox.put(item)
    inbox.put(STOP)
    stats = IngestStats()
    writer = BatchWriter(database.dsn, "America/Sao_Paulo", inbox, stats=stats)
    writer.start()
    writer.join(20)
    assert not writer.is_alive()
    return stats


def overflowing_sequence(at: datetime) -> list[Envelope]:
    """seq 0, 2^63-1, 0, 2^63-1 from one gateway: the second jump pushes gateways.seq_gaps past bigint."""
    return [envelope(topic("globex", GLOBEX_GW), telemetry([reading("MED-001", "power_kw", 1.0 + i)],
                                                           at=at + timedelta(seconds=i), seq=seq))
            for i, seq in enumerate([0, 2**63 - 1, 0, 2**63 - 1])]


def lose_connection_once(database) -> None:
    """The writer's connection dies (FATAL, as in a database restart) the first time it inserts readings."""
    database.execute(
        "CREATE SEQUENCE tds_test_once;"
        " CREATE FUNCTION tds_test_die_once() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF nextval('tds_test_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;"
        " RETURN NULL; END $$;"
        " CREATE TRIGGER tds_test_die AFTER INSERT ON readings FOR EACH STATEMENT EXECUTE FUNCTION tds_test_die_once();")


def test_ing019_writer_retries_after_losing_its_connection(database, fleet):
    lose_connection_once(database)
    at = now_ms() - timedelta(seconds=30)
    stats = run_one_batch(database, [envelope(fleet[ACME_GW].topic, build_payload(fleet[ACME_GW], at, 0))])
    assert count(database) == 5
    assert stats.snapshot()["messages"] == 1 and stats.snapshot()["rejections"] == {}
    assert database.scalar("SELECT nextval('tds_test_once')") == 3  # failed once, then succeeded


@pytest.mark.parametrize("failure", ["connection_lost", "seq_gaps_overflow"])
def test_ing020_metric_learned_in_a_failed_batch_exists_after_the_retry(database, fleet, failure):
    at = now_ms() - timedelta(seconds=30)
    batch = [envelope(topic("acme", ACME_GW), telemetry([reading("MED-001", "pressure_bar", 2.5)], at=at))]
    if failure == "connection_lost":
        lose_connection_once(database)
    else:
        batch += overflowing_sequence(at)

    run_one_batch(database, batch)

    stored = database.query("SELECT r.metric_id, m.name FROM readings r JOIN devices d ON d.id = r.device_id"
                            " LEFT JOIN metrics m ON m.id = r.metric_id WHERE d.code = 'MED-001' AND r.value = 2.5")
    assert len(stored) == 1
    assert stored[0][1] == "pressure_bar", f"reading stored with metric_id {stored[0][0]}, which is no metric"


def test_ing021_huge_sequence_jumps_do_not_lose_readings(database, fleet):
    at = now_ms() - timedelta(seconds=30)
    stats = run_one_batch(database, overflowing_sequence(at))
    assert stats.snapshot()["rejections"] == {}
    assert count(database) == 4
