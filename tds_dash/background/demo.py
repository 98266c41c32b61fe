"""The demo fleet: a few accounts, ~10 gateways, ~50 devices, 13+ months of history, live traffic."""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta, timezone

from ingest import simulator
from ingest.simulator.provision import latest_reading_time
from tds_dash.auth.users import create_user
from tds_dash.background.history import HistoryLoad, history_complete
from tds_dash.db import create_db_engine, session_scope
from tds_dash.queries import users as user_queries
from tds_dash.settings import Settings

DEMO_ACCOUNTS = {
    "acme-energia": "Acme Energia",
    "condominio-aurora": "Condomínio Aurora",
    "hospital-vida": "Hospital Vida",
}
GATEWAYS_PER_ACCOUNT = 3
DEVICES_PER_GATEWAY = 6

log = logging.getLogger(__name__)


def demo_fleet() -> list[simulator.SimGateway]:
    return simulator.build_fleet(list(DEMO_ACCOUNTS), GATEWAYS_PER_ACCOUNT, DEVICES_PER_GATEWAY)


def plan_demo(settings: Settings, now: datetime | None = None) -> HistoryLoad | None:
    """Provision the fleet (at once) and say what history to load in the background, if any.

    First start (or an interrupted load): the whole TDS_BACKFILL_DAYS; later starts: the gap since the
    newest stored reading.
    """
    now = now or datetime.now(timezone.utc)
    fleet = demo_fleet()
    engine = create_db_engine(settings.database_url, pool_size=1)
    try:
        simulator.provision_fleet(engine, fleet, DEMO_ACCOUNTS)
        with session_scope(engine) as conn:
            latest = latest_reading_time(conn, [g.serial for g in fleet])
    finally:
        engine.dispose()
    interval = timedelta(seconds=settings.backfill_interval_seconds)
    start = now - timedelta(days=settings.backfill_days)
    resumed = latest is not None and history_complete(settings.data_dir) is not False
    if resumed:
        start = max(start, latest + interval)
    if settings.backfill_days == 0 or start >= now - interval:
        return None
    if resumed:
        log.info("demo history: filling the %s since the last run, in the background", now - start)
    else:
        log.info("first start: loading %s days of demo history in the background (the live fleet shows at once)",
                 settings.backfill_days)
    return HistoryLoad(settings, fleet, start, now)


def ensure_demo_users(settings: Settings) -> list[dict]:
    """An admin and one viewer per demo account; passwords are random, kept in var/ (0600) and printed."""
    path = settings.data_dir / "demo-credentials.json"
    credentials = json.loads(path.read_text()) if path.exists() else []
    wanted = [("admin", "admin", [])] + [(f"{slug}-viewer", "viewer", [slug]) for slug in DEMO_ACCOUNTS]
    engine = create_db_engine(settings.database_url, pool_size=1)
    try:
        for username, role, accounts in wanted:
            with session_scope(engine) as conn:
                exists = user_queries.get_user_by_username(conn, username) is not None
            if exists:
                continue
            password = secrets.token_urlsafe(9)
            create_user(engine, None, username, username, password, role, accounts)
            credentials = [c for c in credentials if c["username"] != username]
            credentials.append({"username": username, "password": password, "role": role, "accounts": accounts})
    finally:
        engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


def start_live_fleet(settings: Settings, mqtt_url: str | None = None,
                     tls: simulator.TlsFiles | None = None) -> simulator.LivePublisher:
    """The demo gateways publishing live, to mqtt_url (the embedded broker: amqtt with the demo's credential,
    or Mosquitto over mTLS with each gateway's certificate in `tls`) or MQTT_URL."""
    publisher = simulator.LivePublisher(mqtt_url or settings.mqtt_url, demo_fleet(), settings.demo_interval_seconds, qos=1,
                                        protocol=5 if settings.mqtt_protocol == 5 else 4,
                                        client_id="tds-demo-fleet", status=True, tls=tls)
    publisher.start()
    return publisher
