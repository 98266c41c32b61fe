"""Events, gateway history, uptime and rejections (real PostgreSQL), and the fleet texts (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from ingest.presence import jobs as presence
from tds_dash.db import session_scope
from tds_dash.fleet import events as fleet_events
from tds_dash.fleet import text as fleet_text
from tds_dash.queries import events
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope

UTC = timezone.utc
SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


@pytest.fixture
def history(database):
    """GW-0101 (acme): online 12:00, silent from 12:55 so offline 13:00-14:00 (300 s timeout), online since 14:00.
    GW-0201 (globex): never seen. Plus a burst of rejections from an unknown account."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1))
    engine = database.engine()
    gw = database.scalar("SELECT id FROM gateways WHERE serial = 'GW-0101'")
    for seen, now in ((NOW - timedelta(hours=3), NOW - timedelta(hours=3)),
                      (NOW - timedelta(hours=2, minutes=5), NOW - timedelta(hours=2)),
                      (NOW - timedelta(hours=1), NOW - timedelta(hours=1))):
        database.execute("UPDATE gateways SET last_seen_at = %s WHERE id = %s", (seen, gw))
        presence.check_gateways(engine, now, WINDOW)
    database.execute("UPDATE gateways SET last_seen_at = %s WHERE id = %s", (NOW - timedelta(seconds=30), gw))
    database.execute(
        "INSERT INTO rejected_messages (received_at, topic, reason, detail, account_slug, gateway_serial,"
        " payload_size, payload_excerpt) VALUES (%s, 'tds/acme/GW-0101/telemetry', 'invalid_json', 'x', 'acme',"
        " 'GW-0101', 3, 'abc')", (NOW - timedelta(minutes=5),))
    database.execute(
        "INSERT INTO fleet_events (kind, reason, gateway_serial, at, last_at, count, detail)"
        " VALUES ('rejected_burst', 'rejected', 'GW-ZZ', %s, %s, 40, 'mostly unknown_gateway')",
        (NOW - timedelta(minutes=20), NOW - timedelta(minutes=15)))
    return {"engine": engine, "gateway": gw, "acme": database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")}


def test_evq001_events_filter_by_account_gateway_kind_time_and_scope(history):
    with session_scope(history["engine"]) as conn:
        day = events.list_events_page(conn, ALL_ACCOUNTS, NOW - timedelta(days=1), NOW)
        assert [e["kind"] for e in day.rows] == ["rejected_burst", "gateway_online", "gateway_offline",
                                                 "gateway_online"]
        assert day.rows[2]["reason"] == "silent" and day.rows[2]["at"] == NOW - timedelta(hours=2, minutes=0)
        assert day.rows[2]["timeout_s"] == 300 and day.rows[2]["gateway"] == "GW-0101"
        acme = Scope((history["acme"],))
        assert events.list_events_page(conn, acme, NOW - timedelta(days=1), NOW).total == 3  # no unknown-account burst
        only = events.list_events_page(conn, ALL_ACCOUNTS, NOW - timedelta(days=1), NOW, kinds=["gateway_offline"])
        assert [e["kind"] for e in only.rows] == ["gateway_offline"]
        assert events.list_events_page(conn, ALL_ACCOUNTS, NOW - timedelta(days=1), NOW,
                                       kinds=["'; DROP TABLE x; --"]).total == 4  # unknown kinds: all kinds
        recent = events.list_events_page(conn, ALL_ACCOUNTS, NOW - timedelta(minutes=90), NOW)
        assert [e["kind"] for e in recent.rows] == ["rejected_burst", "gateway_online"]
        page = events.list_events_page(conn, ALL_ACCOUNTS, NOW - timedelta(days=1), NOW, limit=3, offset=3)
        assert page.total == 4 and len(page.rows) == 1
        assert events.list_events_page(conn, Scope(()), NOW - timedelta(days=1), NOW).total == 0


def test_evq002_history_uptime_and_rejections_of_a_gateway(history):
    gw = history["gateway"]
    with session_scope(history["engine"]) as conn:
        intervals = events.gateway_history(conn, ALL_ACCOUNTS, gw)
        assert [(i["status"], i["reason"]) for i in intervals] == [("online", "message"), ("offline", "silent"),
                                                                   ("online", "message")]
        assert intervals[0]["ended_at"] is None
        up = events.uptime(conn, ALL_ACCOUNTS, gw, NOW)
        # Known for 3 h (since its first message): online 12-13 h, offline 13-14 h, online since 14 h.
        assert up["24h"] == pytest.approx(2 / 3)
        assert up["24h"] == up["7d"] == up["30d"]
        rejected = events.gateway_rejections(conn, ALL_ACCOUNTS, gw)
        assert [(r["reason"], r["detail"]) for r in rejected] == [("invalid_json", "x")]
        globex = Scope((database_id(conn, "globex"),))
        assert events.gateway_history(conn, globex, gw) == []
        assert events.gateway_rejections(conn, globex, gw) == []
        assert events.uptime(conn, globex, gw, NOW) == {"24h": None, "7d": None, "30d": None}
        page = events.fetch_gateway_page(conn, ALL_ACCOUNTS, "GW-0101", NOW)
        assert page["gateway"]["serial"] == "GW-0101" and len(page["devices"]) == 1
        assert events.fetch_gateway_page(conn, globex, "GW-0101", NOW) is None
        assert events.fetch_gateway_page(conn, ALL_ACCOUNTS, "nope", NOW) is None


def database_id(conn, slug: str) -> int:
    import sqlalchemy as sa

    return conn.execute(sa.text("SELECT id FROM accounts WHERE slug = :slug"), {"slug": slug}).scalar_one()


def test_evq003_offline_gateways_for_the_overview(history, database):
    engine = history["engine"]
    with session_scope(engine) as conn:
        assert events.offline_gateways(conn, ALL_ACCOUNTS) == []
    presence.check_gateways(engine, NOW + timedelta(minutes=10), WINDOW)
    with session_scope(engine) as conn:
        offline = events.offline_gateways(conn, ALL_ACCOUNTS)
        assert [(g["serial"], g["status_reason"]) for g in offline] == [("GW-0101", "silent")]
        assert events.offline_gateways(conn, Scope((database_id(conn, "globex"),))) == []


@pytest.mark.parametrize("seconds, pt, en", [
    (None, "—", "—"), (0, "agora mesmo", "just now"), (4.9, "agora mesmo", "just now"), (45, "há 45 s", "45 s ago"),
    (180, "há 3 min", "3 min ago"), (3599, "há 59 min", "59 min ago"), (7300, "há 2 h", "2 h ago"),
    (86400, "há 1 dia", "1 day ago"), (3 * 86400 + 5, "há 3 dias", "3 days ago"), (-20, "agora mesmo", "just now"),
])
def test_evq004_relative_age(seconds, pt, en):
    assert fleet_text.relative_age(seconds, "pt-BR") == pt
    assert fleet_text.relative_age(seconds, "en") == en


@pytest.mark.parametrize("seconds, text", [
    (None, "—"), (0, "0 s"), (45, "45 s"), (365, "6 min 05 s"), (7500, "2 h 05 min"), (3 * 86400 + 4 * 3600, "3 d 4 h"),
])
def test_evq005_durations(seconds, text):
    assert fleet_text.format_duration(seconds, "pt-BR") == text


def test_evq006_events_say_why_in_both_languages():
    at = datetime(2026, 11, 27, 13, 2, tzinfo=UTC)  # 10:02 in Sao Paulo
    will = {"kind": "gateway_offline", "reason": "will", "at": at}
    silent = {"kind": "gateway_offline", "reason": "silent", "at": at, "evidence_at": at - timedelta(minutes=6),
              "timeout_s": 300}
    meter = {"kind": "device_silent", "reason": "device_silent", "at": at, "device": "MED-003", "interval_s": 900,
             "evidence_at": at - timedelta(minutes=45)}
    flap = {"kind": "gateway_flapping", "at": at, "last_at": at + timedelta(minutes=4), "count": 5, "state": "online"}
    assert fleet_text.explain_event(will, SP, "pt-BR") == "Gateway desconectado (will) às 27/11/2026 10:02:00"
    assert fleet_text.explain_event(will, SP, "en") == "Gateway disconnected (will) at 11/27/2026 10:02:00 AM"
    assert fleet_text.explain_event(silent, SP, "pt-BR") == (
        "Gateway silencioso: nenhuma mensagem desde 27/11/2026 09:56:00 (limite de inatividade 5 min 00 s)")
    assert fleet_text.explain_event(meter, SP, "pt-BR").startswith(
        "Medidor MED-003 silencioso por 3× seu intervalo usual (15 min 00 s) com o gateway online")
    assert "5 mudanças de estado" in fleet_text.explain_event(flap, SP, "pt-BR")
    assert fleet_text.explain_event(flap, SP, "en").endswith("now online")
    gateway = {"status_reason": "silent", "last_seen_at": at - timedelta(minutes=6), "inactivity_timeout_s": 300}
    assert fleet_text.offline_reason(gateway, at, SP, "pt-BR") == "silencioso há 6 min 00 s (limite 5 min 00 s)"
    assert fleet_text.offline_reason(gateway, at, SP, "en") == "silent for 6 min 00 s (timeout 5 min 00 s)"


def test_evq007_event_periods_are_presets_or_whole_local_days():
    assert fleet_events.period_range("7d", None, None, NOW, SP)[0] == NOW - timedelta(days=7)
    start, end = fleet_events.period_range("24h", "2026-11-01", "2026-11-02", NOW, SP)  # dates win
    assert (start, end) == (datetime(2026, 11, 1, 3, tzinfo=UTC), datetime(2026, 11, 3, 3, tzinfo=UTC))
    assert fleet_events.period_range("7d", "2026-11-02", "2026-11-01", NOW, SP) == (start, end)
    assert fleet_events.period_range("7d", "2026-11-02", None, NOW, SP)[0] == NOW - timedelta(days=7)
    assert fleet_events.period_range("24h", "garbage", "2026-11-01", NOW, SP)[0] == NOW - timedelta(hours=24)
    assert fleet_events.period_range(None, None, None, NOW, SP)[0] == NOW - timedelta(hours=24)


def test_evq008_rejection_bursts_are_keyed_by_topic_account_and_serial(database, ingest, mosquitto):
    """Security finding 3: acme's topic naming globex's serial is not globex's burst, nor acme's event."""
    from tests.helpers import publish, telemetry, topic, wait_until

    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1))
    ingest()
    body = telemetry([{"device": "M1", "metric": "energy_kwh", "value": 1.0}])
    publish(mosquitto, [(topic("acme", "GW-0201"), body)] * 21 + [(topic("globex", "GW-0201"), b"{nope")] * 21
            + [(topic("nobody", "GW-0201"), body)] * 21)
    wait_until(lambda: database.scalar("SELECT count(*) FROM rejected_messages") == 63, timeout=20)
    engine, now = database.engine(), datetime.now(UTC) + timedelta(seconds=1)
    assert presence.check_rejected_bursts(engine, now, timedelta(minutes=5), 20) == 3
    assert presence.check_rejected_bursts(engine, now, timedelta(minutes=5), 20) == 3  # a rerun changes nothing
    with session_scope(engine) as conn:
        acme, globex = Scope((database_id(conn, "acme"),)), Scope((database_id(conn, "globex"),))
        gw = conn.exec_driver_sql("SELECT id FROM gateways WHERE serial = 'GW-0201'").scalar_one()

        def feed(scope):
            found = events.list_events_page(conn, scope, now - timedelta(hours=1), now + timedelta(hours=1))
            return sorted(((e["account"], e["gateway_id"], e["count"], e["detail"]) for e in found.rows), key=str)

        assert feed(acme) == []
        assert feed(globex) == [("globex", gw, 21, "mostly invalid_json")]
        assert feed(ALL_ACCOUNTS) == [("globex", gw, 21, "mostly invalid_json"),
                                      (None, None, 21, "mostly account_mismatch"),
                                      (None, None, 21, "mostly account_mismatch")]  # acme's and nobody's
        assert {r["reason"] for r in events.gateway_rejections(conn, globex, gw, limit=100)} == {"invalid_json"}
