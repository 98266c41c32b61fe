"""Observability with real parts: /metrics (Prometheus text), /api/health when ingest stalls, the figures the
writer records in ingest_minutes and the queries behind the Ingest page, rejected-messages retention, and the
Ingest and Rejected pages in headless Chromium."""
from __future__ import annotations

import threading
import types
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ingest.simulator import build_fleet, provision_fleet
from ingest.supervisor import IngestSupervisor
from tds_dash.app import create_app
from tds_dash.background.scheduler import prune_rejected_messages
from tds_dash.db import raw_dsn, session_scope
from tds_dash.monitoring import ingest_page
from tds_dash.queries import ingest as ingest_queries
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.conftest import open_user_menu
from tests.delivery_tools import stream_messages
from tests.explorer_data import api_token
from tests.helpers import free_port, publish, settings_for, wait_until

ZONE = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def fleet(database):
    gateways = build_fleet(["acme", "globex"], 1, 3, serial_prefix="OBS")
    provision_fleet(database.engine(), gateways)
    return gateways


def app_with(settings, ingest_part):
    """An app whose background ingest is `ingest_part` (an IngestHandle or an IngestSupervisor)."""
    app = create_app(settings)
    app.server.extensions["tds"].background = types.SimpleNamespace(ingest=ingest_part)
    return app


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a Prometheus text exposition (parsed by prometheus-client)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def publish_mixed(mosquitto, fleet) -> list:
    good = stream_messages(fleet, 6, readings=4)
    publish(mosquitto, [(m.topic, m.payload) for m in good] + [(fleet[0].topic, b'{"v": 1, "ts": ')])
    return good


def test_obs001_metrics_in_prometheus_format_for_admins_only(database, mosquitto, fleet, ingest, settings):
    handle = ingest(settings=settings)
    good = publish_mixed(mosquitto, fleet)
    wait_until(lambda: handle.stats.snapshot()["messages"] == len(good) + 1)
    app = app_with(settings, handle)
    client = app.server.test_client()

    response = client.get("/metrics", headers=api_token(app, "prom-admin"))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    values = samples(response.get_data(as_text=True))
    assert values[("tds_ingest_messages_received_total", frozenset())] == 7
    assert values[("tds_ingest_messages_acknowledged_total", frozenset())] == 7
    assert values[("tds_ingest_messages_committed_total", frozenset())] == 7
    assert values[("tds_ingest_readings_stored_total", frozenset())] == 24
    assert values[("tds_ingest_readings_duplicate_total", frozenset())] == 0
    assert values[("tds_ingest_sequence_gaps_total", frozenset())] == 0
    assert values[("tds_ingest_rejections_total", frozenset({("reason", "invalid_json")}))] == 1
    assert values[("tds_ingest_state", frozenset({("state", "ingesting")}))] == 1
    assert values[("tds_ingest_queue_depth", frozenset())] == 0
    assert values[("tds_ingest_broker_connected", frozenset())] == 1
    batches = values[("tds_ingest_batches_total", frozenset())]
    assert values[("tds_ingest_batch_readings_count", frozenset())] == batches
    assert values[("tds_ingest_commit_seconds_bucket", frozenset({("le", "+Inf")}))] == batches
    assert values[("tds_ingest_delivery_delay_seconds_count", frozenset())] == 6

    # A second app in the same process has its own registry (no duplicate-timeseries error) and an idle ingest.
    other = app_with(settings, None)
    body = other.server.test_client().get("/metrics", headers=api_token(other, "prom-admin-2")).get_data(as_text=True)
    assert samples(body)[("tds_ingest_state", frozenset({("state", "disabled")}))] == 1
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=api_token(app, "prom-viewer", role="viewer")).status_code == 403


def test_obs002_health_is_503_while_ingest_is_stalled_and_ok_again_after(database, mosquitto, fleet, ingest):
    settings = settings_for(database, mosquitto, TDS_INGEST_STALL_SECONDS=1)
    handle = ingest(settings=settings)
    client = app_with(settings, handle).server.test_client()
    assert client.get("/api/health").status_code == 200
    # Another session holds a lock the writer needs (but /api/health does not): the writer waits, i.e. stalls.
    with database.connect(autocommit=False) as blocker:
        blocker.execute("LOCK TABLE device_metrics IN EXCLUSIVE MODE")
        publish(mosquitto, [(m.topic, m.payload) for m in stream_messages(fleet, 1, readings=2)])
        wait_until(lambda: client.get("/api/health").status_code == 503, timeout=15, message="503 while stalled")
        body = client.get("/api/health").json
        assert body["status"] == "degraded" and body["database"]["status"] == "ok"
        assert body["ingest"]["status"] == "stalled" and body["ingest"]["uncommitted_batch_age_s"] > 1
        blocker.rollback()
    wait_until(lambda: client.get("/api/health").status_code == 200, message="healthy once the batch committed")
    assert client.get("/api/health").json["ingest"]["messages"] == 1


def test_obs003_a_process_without_a_free_slot_stands_by_and_is_healthy(database, mosquitto):
    settings = settings_for(database, mosquitto, TDS_INGEST_SLOTS=1)
    first = IngestSupervisor(settings, raw_dsn(settings.database_url), settings.mqtt_url)
    second = IngestSupervisor(settings, raw_dsn(settings.database_url), settings.mqtt_url)
    first.start()
    try:
        wait_until(lambda: first.state == "ingesting", message="the first claims the only slot")
        second.start()
        wait_until(lambda: second.lock.conn is not None, message="the second tried")
        assert second.state == "standby" and second.current() is None
        client = app_with(settings, second).server.test_client()
        response = client.get("/api/health")
        assert response.status_code == 200 and response.json["ingest"] == {"status": "standby"}
    finally:
        threads = [threading.Thread(target=part.stop) for part in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)


def test_obs004_writer_records_minutes_and_the_ingest_queries_read_them(database, mosquitto, fleet, ingest):
    handle = ingest()
    good = publish_mixed(mosquitto, fleet)
    wait_until(lambda: handle.stats.snapshot()["messages"] == len(good) + 1)
    handle.stop()  # the final flush writes the current minute
    rows = database.query("SELECT received, messages, acknowledged, readings_stored, readings_duplicate, rejected,"
                          " seq_gaps, jsonb_array_length(slowest_gateways) FROM ingest_minutes")
    assert [tuple(sum(row[i] for row in rows) for i in range(7))] == [(7, 7, 7, 24, 0, 1, 0)]

    now = datetime.now(timezone.utc)
    with session_scope(database.engine()) as conn:
        page = ingest_queries.fetch_ingest_page(conn, ALL_ACCOUNTS, now - timedelta(hours=1), now)
        acme_id = conn.exec_driver_sql("SELECT id FROM accounts WHERE slug = 'acme'").scalar()
        viewer = ingest_queries.fetch_ingest_page(conn, Scope(account_ids=(acme_id,)), now - timedelta(hours=1), now)
        rejected = ingest_queries.list_rejected(conn, ALL_ACCOUNTS, reason="invalid_json")
    assert len(page["minutes"]) in (60, 61) and sum(m["messages"] for m in page["minutes"]) == 7
    assert page["rejections"] == [{"reason": "invalid_json", "messages": 1, "readings": 0, "partial": 0}]
    assert {row["serial"] for row in page["slowest"]} == {g.serial for g in fleet}
    assert all(row["delay_ms_max"] > 0 for row in page["slowest"])
    # A viewer of one account sees its gateways and rejections, never the system-wide minutes.
    assert viewer["minutes"] == [] and {row["serial"] for row in viewer["slowest"]} == {"OBS-0101"}
    assert [row["reason"] for row in viewer["rejections"]] == ["invalid_json"]  # it came on acme's topic
    assert len(rejected) == 1 and bytes(rejected[0]["excerpt"]) == b'{"v": 1, "ts": '

    store = ingest_page.to_store(page, now)
    for draw in (ingest_page.throughput_figure, ingest_page.problems_figure, ingest_page.commit_figure,
                 ingest_page.batch_figure):
        assert draw(store["minutes"], ZONE, "pt-BR").data  # idle minutes (zero batches) draw without errors
    assert ingest_page.slowest_rows(store["slowest"], ZONE, "pt-BR")[0]["last_seen"] != "—"


def test_obs005_rejected_messages_bounded_by_age_and_count(database):
    database.execute(
        "INSERT INTO rejected_messages (received_at, topic, reason, payload_size, payload_excerpt)"
        " SELECT now() - make_interval(days => CASE WHEN i <= 5 THEN 40 ELSE 0 END) + make_interval(secs => i),"
        " 'tds/a/b/telemetry', 'invalid_json', 1, '\\x00' FROM generate_series(1, 30) AS i")
    database.execute("INSERT INTO ingest_minutes (minute, process) VALUES (now() - interval '40 days', 'old'),"
                     " (date_trunc('minute', now()), 'new')")
    prune_rejected_messages(database.engine(), retention_days=30, max_rows=10)
    kept = [row[0] for row in database.query("SELECT id FROM rejected_messages ORDER BY id")]
    newest = [row[0] for row in database.query("SELECT id FROM generate_series(21, 30) AS id")]
    assert kept == newest  # the 5 old ones by age, then all but the newest 10 by count
    assert database.query("SELECT process FROM ingest_minutes") == [("new",)]


@pytest.mark.browser
def test_obs006_ingest_and_rejected_pages_in_the_browser(dash_duo, database, mosquitto, fleet, ingest):
    settings = settings_for(database, mosquitto, TDS_REFRESH_SECONDS=2)
    handle = ingest(settings=settings)
    good = publish_mixed(mosquitto, fleet)
    wait_until(lambda: handle.stats.snapshot()["messages"] == len(good) + 1)
    handle.stop()
    app = app_with(settings, handle)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element("a[href='/ingest']")
    dash_duo.driver.get(dash_duo.server_url + "/ingest")
    dash_duo.wait_for_text_to_equal("h3", "Ingestão — última hora")
    dash_duo.wait_for_element("#ingest-throughput .scatterlayer .trace")
    dash_duo.wait_for_element("#ingest-reasons .barlayer .point")
    dash_duo.wait_for_contains_text("#ingest-slowest", "OBS-0101")
    open_user_menu(dash_duo, "#nav-more")  # the less-used pages are under "Mais"
    dash_duo.find_element("#nav-more a[href='/rejected']").click()
    dash_duo.wait_for_text_to_equal("h3", "Mensagens rejeitadas")
    dash_duo.wait_for_contains_text("#rejected-table", "invalid_json")
    assert dash_duo.get_logs() == []
