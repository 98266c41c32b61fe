"""Alarm lifecycle on a real PostgreSQL with an injected clock: raise once, hysteresis, grace, suppression."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from ingest.presence import jobs as presence
from ingest.presence import statements as presence_queries
from tds_dash.alarms import evaluation, lifecycle
from tds_dash.alarms.rules import RuleError, validate_rule
from tds_dash.db import session_scope

UTC = timezone.utc
ZONE = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def fleet(database):
    """acme with one gateway GW-0101 (2 devices) seen at T0, online, 60 s timeout; an e-mail channel."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 2))
    database.execute("UPDATE gateways SET last_seen_at = %s, inactivity_timeout_s = 60", (T0,))
    database.execute("INSERT INTO notification_channels (account_id, type, target) SELECT id, 'email', 'ops@acme.test'"
                     " FROM accounts")
    engine = database.engine()
    presence.check_gateways(engine, s(1), WINDOW)
    return engine


def evaluate(engine, now, grace=None, lock_key=evaluation.FAST_LOCK_KEY):
    return evaluation.evaluate(engine, now, ZONE, evaluation.FAST_KINDS, grace, lock_key)


def will(engine, at: datetime) -> None:
    with session_scope(engine) as conn:
        presence_queries.record_status_signal(conn, "acme", "GW-0101", "offline", at, False)
    presence.check_gateways(engine, at, WINDOW, sweep_lock=False)


def message(database, engine, at: datetime, serial: str = "GW-0101") -> None:
    database.execute("UPDATE gateways SET last_seen_at = %s WHERE serial = %s", (at, serial))
    presence.check_gateways(engine, at, WINDOW)


def alarms(database) -> list[tuple]:
    return database.query("SELECT kind, subject LIKE 'gateway:%%', count, cleared_at IS NULL, acked_at IS NULL"
                          " FROM alarms ORDER BY id")


def outbox_events(database) -> list[str]:
    return [row[0] for row in database.query("SELECT event_key FROM notification_outbox ORDER BY id")]


def test_alm001_killed_gateway_raises_one_alarm_and_clears_after_five_minutes_online(database, fleet):
    will(fleet, s(10))
    assert evaluate(fleet, s(11))["raised"] == 1
    assert evaluate(fleet, s(16))["raised"] == 0  # every later run: the same alarm, no new notification
    assert alarms(database) == [("gateway_offline", True, 1, True, True)]
    assert database.scalar("SELECT started_at FROM alarms") == s(10)
    message(database, fleet, s(30))
    evaluate(fleet, s(31))
    assert database.scalar("SELECT clearing_since FROM alarms") == s(31)
    assert evaluate(fleet, s(31 + 299))["cleared"] == 0  # hysteresis: online for 5 min before it clears
    assert evaluate(fleet, s(31 + 300))["cleared"] == 1
    assert alarms(database) == [("gateway_offline", True, 1, False, True)]
    assert outbox_events(database) == ["raised", "cleared"]


def test_alm002_flapping_gateway_ten_changes_in_two_minutes_is_one_alarm(database, fleet):
    at = s(10)
    for _ in range(5):  # offline by will, back by a message: 10 changes, 12 s apart
        will(fleet, at)
        evaluate(fleet, at + timedelta(seconds=1))
        at += timedelta(seconds=12)
        message(database, fleet, at)
        evaluate(fleet, at + timedelta(seconds=1))
        at += timedelta(seconds=12)
    assert at - s(10) == timedelta(minutes=2)
    assert alarms(database) == [("gateway_offline", True, 5, True, True)]  # one alarm, five drops counted
    assert outbox_events(database) == ["raised"]
    assert database.scalar("SELECT count(*) FROM gateway_presence") == 11  # presence kept every change


def test_alm003_restart_with_50_gateways_raises_no_offline_alarm_within_grace(database):
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 50, 1))
    engine = database.engine()
    # The app was down for 10 minutes: every gateway's last message is older than its timeout.
    database.execute("UPDATE gateways SET last_seen_at = %s, status = 'online', status_since = %s,"
                     " inactivity_timeout_s = 300", (s(-600), s(-3600)))
    grace = evaluation.Grace(started_at=T0, period=timedelta(seconds=70))
    assert len(presence.check_gateways(engine, T0, WINDOW)) == 50  # presence: all offline (silent)
    assert evaluate(engine, s(5), grace)["raised"] == 0
    # The broker's backlog drains: all but one report again within the grace period.
    database.execute("UPDATE gateways SET last_seen_at = %s WHERE serial <> 'GW-0150'", (s(20),))
    presence.check_gateways(engine, s(21), WINDOW)
    assert evaluate(engine, s(40), grace)["raised"] == 0
    assert evaluate(engine, s(71), grace)["raised"] == 1  # the one really offline, once the grace is over
    assert database.query("SELECT g.serial FROM alarms a JOIN gateways g ON g.id = a.gateway_id") == [("GW-0150",)]


def test_alm004_two_evaluators_at_once_still_make_one_alarm(database, fleet):
    will(fleet, s(10))
    engines = [database.engine() for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results = []

    def run(engine):
        barrier.wait()
        results.append(evaluate(engine, s(11), lock_key=None))  # no advisory lock: the unique index alone

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r["raised"] for r in results) == [0, 0, 0, 1]
    assert database.scalar("SELECT count(*) FROM alarms") == 1
    assert outbox_events(database) == ["raised"]


def test_alm005_ack_then_clear_by_hand_each_once(database, fleet):
    will(fleet, s(10))
    evaluate(fleet, s(11))
    alarm_id = database.scalar("SELECT id FROM alarms")
    with session_scope(fleet) as conn:
        assert lifecycle.acknowledge(conn, alarm_id, s(20), "alice", "a truck hit the pole")
        assert not lifecycle.acknowledge(conn, alarm_id, s(21), "bob", None)
        assert lifecycle.get_alarm(conn, alarm_id).state == "active_ack"
        assert lifecycle.clear_alarm(conn, alarm_id, s(30), "alice", "replaced")
        assert not lifecycle.clear_alarm(conn, alarm_id, s(31), "bob")
        assert lifecycle.get_alarm(conn, alarm_id).state == "cleared_ack"
    # Still offline: the next evaluation raises a new alarm (a new row: the cleared one is history).
    assert evaluate(fleet, s(40))["raised"] == 1
    assert database.scalar("SELECT count(*) FROM alarms") == 2
    # The channel does not want acknowledgements (on_ack false).
    assert outbox_events(database) == ["raised", "cleared", "raised"]


def test_alm006_silent_meters_behind_an_offline_gateway_are_suppressed_and_counted(database, fleet):
    database.execute("INSERT INTO alarm_rules (account_id, kind, name, severity) SELECT id, 'meter_silent', 'silent',"
                     " 'minor' FROM accounts")
    database.execute("UPDATE devices SET silent_since = %s", (s(5),))
    will(fleet, s(10))
    totals = evaluate(fleet, s(11))
    assert totals["raised"] == 1 and totals["suppressed"] == 2
    assert database.query("SELECT kind, suppressed FROM alarms") == [("gateway_offline", 2)]
    message(database, fleet, s(30))  # back online, meters still silent: now they are alarms of their own
    assert evaluate(fleet, s(31))["raised"] == 2
    assert database.scalar("SELECT count(*) FROM alarms WHERE kind = 'meter_silent'") == 2


def test_alm007_built_in_rules_exist_once_per_account(database, fleet):
    evaluate(fleet, s(2))
    evaluate(fleet, s(3))
    assert database.query("SELECT kind, account_id IS NULL, enabled FROM alarm_rules ORDER BY id") == [
        ("gateway_offline", False, True), ("ingest_stalled", True, True)]


@pytest.mark.parametrize("body, field", [
    ({"kind": "nope"}, "kind"),
    ({"kind": "consumption_above", "name": "x", "params": {"period": "week", "threshold": 1}}, "params.period"),
    ({"kind": "consumption_above", "name": "x", "params": {"threshold": None}}, "params.threshold"),
    ({"kind": "consumption_above", "name": "x", "params": {"threshold": 10, "clear_threshold": 11}},
     "params.clear_threshold"),
    ({"kind": "consumption_above", "name": "x", "params": {"budget": 100}}, "params.budget_pct"),
    ({"kind": "night_flow", "name": "x", "params": {"start": "02:30"}}, "params.start"),
    ({"kind": "night_flow", "name": "x", "params": {"nights": 0}}, "params.nights"),
    ({"kind": "spike", "name": "x", "params": {"factor": 0.5}}, "params.factor"),
    ({"kind": "spike", "name": "x", "params": {"colour": "red"}}, "params.colour"),
    ({"kind": "meter_stuck", "name": "", "params": {}}, "name"),
    ({"kind": "meter_stuck", "name": "x", "severity": "fatal"}, "severity"),
    ({"kind": "gateway_offline", "name": "x", "for_seconds": -1}, "for_seconds"),
    ({"kind": "gateway_offline", "name": "x", "gateway_id": "7"}, "gateway_id"),
    ({"kind": "meter_silent", "name": "x", "device_id": True}, "device_id"),
    ("not an object", "body"),
    ({"kind": "meter_silent", "name": "x", "enabled": "false"}, "enabled"),
    ({"kind": "meter_stuck", "name": "x", "params": [24]}, "params"),
])
def test_alm008_rule_validation_names_the_field(body, field):
    with pytest.raises(RuleError) as caught:
        validate_rule(body)
    assert caught.value.field == field


def test_alm009_templates_give_defaults_and_edits_keep_the_rest():
    rule = validate_rule({"kind": "meter_stuck", "name": "stuck"})
    assert (rule["enabled"], rule["params"], rule["severity"]) == (False, {"hours": 24}, "minor")
    edited = validate_rule({"params": {"hours": 6}, "enabled": True}, existing=rule)
    assert (edited["enabled"], edited["params"], edited["name"]) == (True, {"hours": 6}, "stuck")
    budget = validate_rule({"kind": "consumption_above", "name": "b", "params": {"budget": 1000, "budget_pct": 80}})
    assert budget["params"]["threshold"] is None and budget["params"]["per"] == "account"


def test_alm010_for_duration_delays_the_raise(database, fleet):
    evaluate(fleet, s(2))  # creates the built-in rule
    database.execute("UPDATE alarm_rules SET for_seconds = 60 WHERE kind = 'gateway_offline'")
    will(fleet, s(10))
    assert evaluate(fleet, s(69))["raised"] == 0
    assert evaluate(fleet, s(70))["raised"] == 1
    assert database.query("SELECT started_at, raised_at FROM alarms") == [(s(10), s(70))]


def ingest_minutes(database, minutes: list[datetime]) -> None:
    for minute in minutes:
        database.execute("INSERT INTO ingest_minutes (minute, process, received, messages) VALUES (%s, 'test', 5, 5)",
                         (minute,))


def test_alm011_grace_again_after_the_ingest_resumes(database, fleet):
    grace = evaluation.Grace(started_at=s(-3600), period=timedelta(seconds=70))
    # Traffic until 10 minutes ago, none since, and again from T0: the ingest was away and is back.
    ingest_minutes(database, [s(-60 * k) for k in range(15, 10, -1)] + [T0])
    with session_scope(fleet) as conn:
        assert evaluation.ingest_resumed_at(conn, s(30)) == T0
    will(fleet, s(10))
    assert evaluate(fleet, s(30), grace)["raised"] == 0
    assert evaluate(fleet, s(70), grace)["raised"] == 1
    ingest_minutes(database, [s(60)])  # steady traffic is no resume
    with session_scope(fleet) as conn:
        assert evaluation.ingest_resumed_at(conn, s(90)) == T0


def test_alm012_ingest_stalled_is_a_system_alarm_for_admins(database, fleet):
    ingest_minutes(database, [s(-600)])
    assert evaluate(fleet, s(-600 + 5 * 60 + 59))["raised"] == 0  # within 5 min of the last committed minute
    assert evaluate(fleet, s(-600 + 6 * 60))["raised"] == 1
    assert database.query("SELECT kind, subject, account_id, severity FROM alarms") == [
        ("ingest_stalled", "ingest", None, "critical")]
    ingest_minutes(database, [s(0)])
    assert evaluate(fleet, s(30))["cleared"] == 1
