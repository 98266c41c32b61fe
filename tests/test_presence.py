"""Presence rules (pure, table-tested) and the presence jobs on a real PostgreSQL with an injected clock."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from ingest import simulator
from ingest.presence import jobs as presence
from ingest.presence import rules
from ingest.presence import statements as presence_queries
from ingest.presence.rules import GatewayState, evaluate_gateway
from tds_dash.db import session_scope

UTC = timezone.utc
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def state(**changes) -> GatewayState:
    values = dict(id=1, account_id=1, serial="GW-1", timeout_s=300, last_seen_at=T0, will_at=None, birth_at=None,
                  status=None, status_since=None)
    values.update(changes)
    return GatewayState(**values)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize("changes, now, expected", [
    # (stored state, now) -> (status, reason, at) or None
    (dict(last_seen_at=None), s(0), None),                                    # never seen: nothing to say
    (dict(), s(10), ("online", "message", T0)),
    (dict(status="online", status_since=T0), s(299), None),
    (dict(status="online", status_since=T0), s(300), ("offline", "silent", s(300))),  # at the timeout, not later
    (dict(status="online", status_since=T0, timeout_s=50), s(3600), ("offline", "silent", s(50))),
    (dict(status="offline", status_since=s(300)), s(4000), None),
    (dict(status="offline", status_since=s(300), last_seen_at=s(400)), s(410), ("online", "message", s(400))),
    (dict(status="online", status_since=T0, will_at=s(5)), s(6), ("offline", "will", s(5))),
    (dict(status="online", status_since=T0, will_at=s(5), last_seen_at=s(7)), s(8), None),  # back after the will
    (dict(last_seen_at=None, birth_at=s(1)), s(2), ("online", "birth", s(1))),
    (dict(last_seen_at=None, will_at=s(1)), s(2), ("offline", "will", s(1))),
    (dict(status="offline", status_since=s(20), will_at=s(5)), s(30), None),  # already offline: one event
    # A will stamped before the state it would end (clock skew) never makes an interval run backwards.
    (dict(status="online", status_since=s(10), will_at=s(10), last_seen_at=s(9)), s(11), ("offline", "will", s(10))),
])
def test_prs001_gateway_rules(changes, now, expected):
    transition = evaluate_gateway(state(**changes), now)
    got = None if transition is None else (transition.status, transition.reason, transition.at)
    assert got == expected


@pytest.mark.parametrize("gaps, expected", [
    ([], None), ([60, 60], None), ([60, 60, 60], 60), ([60, 61, 59, 3600], 60.5), ([0, 0, 60, 60, 60], 60),
    ([None, 30, 30, 30], 30),
])
def test_prs002_learned_interval_is_the_median_gap(gaps, expected):
    assert rules.learned_interval(gaps) == expected


def test_prs002b_a_device_is_as_frequent_as_its_most_frequent_metric():
    assert rules.device_interval([[600, 600, 600], [60, 60, 60, 60], [5]]) == 60
    assert rules.device_interval([[5], []]) is None


@pytest.mark.parametrize("silent_since, last, interval, now, expected", [
    (None, T0, 60, s(179), None),
    (None, T0, 60, s(180), ("silent", s(180))),
    (None, T0, None, s(9999), None),              # no interval known yet: never called silent
    (s(180), T0, 60, s(500), None),               # still silent: no second event
    (s(180), s(600), 60, s(601), ("back", s(600))),
    (s(180), T0, 600, s(500), ("back", s(180))),  # a longer interval set on the device ends the silence
])
def test_prs003_device_silence_rule(silent_since, last, interval, now, expected):
    assert rules.device_change(silent_since, last, interval, now) == expected


@pytest.fixture
def gateway(database):
    """One gateway (GW-0101 of acme, 2 devices) that last sent a message at T0, with a 60 s timeout."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 2))
    database.execute("UPDATE gateways SET last_seen_at = %s, inactivity_timeout_s = 60", (T0,))
    return database.scalar("SELECT id FROM gateways")


def events(database) -> list[tuple]:
    return database.query("SELECT kind, reason, at, count, state FROM fleet_events ORDER BY id")


def intervals(database) -> list[tuple]:
    return database.query("SELECT status, reason, started_at, ended_at FROM gateway_presence ORDER BY id")


def test_prs004_silent_gateway_goes_offline_at_its_timeout_once(database, gateway):
    engine = database.engine()
    assert [t.status for t in presence.check_gateways(engine, s(5), WINDOW)] == ["online"]
    assert presence.check_gateways(engine, s(59), WINDOW) == []
    assert [t.reason for t in presence.check_gateways(engine, s(63), WINDOW)] == ["silent"]
    assert presence.check_gateways(engine, s(64), WINDOW) == []
    assert events(database) == [("gateway_online", "message", T0, 1, "online"),
                                ("gateway_offline", "silent", s(60), 1, "offline")]
    assert intervals(database) == [("online", "message", T0, s(60)), ("offline", "silent", s(60), None)]
    assert database.query("SELECT status, status_reason, status_since FROM gateways") == [("offline", "silent", s(60))]


def test_prs005_concurrent_checks_record_each_transition_once(database, gateway):
    engines = [database.engine() for _ in range(4)]
    presence.check_gateways(engines[0], s(5), WINDOW)
    barrier = threading.Barrier(len(engines))
    results = []

    def run(engine):
        barrier.wait()
        # Without the sweep lock every process evaluates at once: the compare-and-set alone must hold.
        results.append(presence.check_gateways(engine, s(61), WINDOW, sweep_lock=False))

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert [e[0] for e in events(database)] == ["gateway_online", "gateway_offline"]
    assert database.scalar("SELECT count(*) FROM gateway_presence WHERE ended_at IS NULL") == 1


def test_prs006_will_then_messages_then_flapping_is_debounced(database, gateway):
    engine = database.engine()
    presence.check_gateways(engine, s(1), WINDOW)
    at = s(1)
    for round_ in range(4):  # offline by will, back by a message, four times within the flap window
        at += timedelta(seconds=10)
        with session_scope(engine) as conn:
            assert presence_queries.record_status_signal(conn, "acme", "GW-0101", "offline", at, False) == gateway
        presence.check_gateways(engine, at, WINDOW, gateway_id=gateway)
        at += timedelta(seconds=10)
        database.execute("UPDATE gateways SET last_seen_at = %s", (at,))
        presence.check_gateways(engine, at, WINDOW)
    kinds = [(kind, count, state_) for kind, _, _, count, state_ in events(database)]
    assert kinds == [("gateway_online", 1, "online"), ("gateway_offline", 1, "offline"),
                     ("gateway_flapping", 7, "online")]
    assert len(intervals(database)) == 9  # durations stay exact even when events are merged
    # Falling silent a minute later still belongs to the episode; a message long after it does not.
    presence.check_gateways(engine, at + timedelta(minutes=5), WINDOW)
    assert events(database)[-1][:2] == ("gateway_flapping", "silent") and events(database)[-1][3] == 8
    later = at + WINDOW + timedelta(minutes=2)
    database.execute("UPDATE gateways SET last_seen_at = %s", (later,))
    presence.check_gateways(engine, later, WINDOW)
    assert events(database)[-1][:3] == ("gateway_online", "message", later)


def test_prs007_status_signals_match_account_and_retained_births_are_not_evidence(database, gateway):
    engine = database.engine()
    with session_scope(engine) as conn:
        assert presence_queries.record_status_signal(conn, "other", "GW-0101", "offline", s(1), False) is None
        assert presence_queries.record_status_signal(conn, "acme", "GW-9999", "offline", s(1), False) is None
        presence_queries.record_status_signal(conn, "acme", "GW-0101", "online", s(100), True)
    assert database.scalar("SELECT birth_at FROM gateways") is None
    with session_scope(engine) as conn:
        presence_queries.record_status_signal(conn, "acme", "GW-0101", "online", s(100), False)
    assert [t.reason for t in presence.check_gateways(engine, s(101), WINDOW)] == ["birth"]


def test_prs008_silent_meter_while_its_gateway_is_online(database, gateway):
    engine = database.engine()
    fleet = simulator.build_fleet(["acme"], 1, 2)
    # Readings every 60 s for 30 min: the usual interval is learned (60 s), silence is 3x that.
    simulator.backfill(database.dsn, "America/Sao_Paulo", fleet, T0 - timedelta(minutes=30), T0,
                       timedelta(seconds=60), progress=False)
    last = database.scalar("SELECT max(ts) FROM readings")
    database.execute("UPDATE gateways SET status = 'online', status_since = %s", (T0,))
    assert presence.check_devices(engine, last + timedelta(seconds=179)) == 0
    assert presence.check_devices(engine, last + timedelta(seconds=181)) == 2
    assert presence.check_devices(engine, last + timedelta(seconds=200)) == 0
    rows = database.query("SELECT kind, reason, at, interval_s, evidence_at FROM fleet_events ORDER BY device_id")
    assert rows == [("device_silent", "device_silent", last + timedelta(seconds=180), 60.0, last)] * 2
    # An interval set on the device wins over the learned one.
    database.execute("UPDATE device_metrics SET usual_interval_s = 3600")
    assert presence.check_devices(engine, last + timedelta(seconds=300)) == 2
    assert [r[0] for r in database.query("SELECT kind FROM fleet_events ORDER BY id")][-2:] == ["device_back"] * 2
    assert database.scalar("SELECT count(*) FROM devices WHERE silent_since IS NOT NULL") == 0


def test_prs009_rejected_bursts_become_one_growing_event(database, gateway):
    engine = database.engine()

    def reject(n: int, at: datetime, serial: str = "GW-X") -> None:
        database.execute(
            "INSERT INTO rejected_messages (received_at, topic, reason, account_slug, gateway_serial, payload_size,"
            " payload_excerpt) SELECT %s, 'tds/acme/' || %s || '/telemetry', 'unknown_gateway', 'acme', %s, 1, ''"
            " FROM generate_series(1, %s)", (at, serial, serial, n))

    reject(5, s(0))
    assert presence.check_rejected_bursts(engine, s(10), timedelta(minutes=5), 10) == 0
    reject(10, s(20))
    assert presence.check_rejected_bursts(engine, s(30), timedelta(minutes=5), 10) == 1
    assert presence.check_rejected_bursts(engine, s(31), timedelta(minutes=5), 10) == 1  # rerun: same event
    reject(3, s(40))
    presence.check_rejected_bursts(engine, s(50), timedelta(minutes=5), 10)
    rows = database.query("SELECT kind, gateway_serial, count, at, last_at, account_id IS NOT NULL, detail"
                          " FROM fleet_events")
    assert rows == [("rejected_burst", "GW-X", 18, s(0), s(40), True, "mostly unknown_gateway")]
