"""The demo fleet: a few accounts, ~10 gateways, ~50 devices, 13+ months of history, live traffic."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ingest import simulator
from tds_dash.db import create_db_engine, raw_dsn, session_scope
from tds_dash.queries.fleet import latest_reading_time
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


def prepare_demo(settings: Settings, progress: bool = True, now: datetime | None = None) -> int:
    """Provision the fleet and backfill history; on later starts only the gap since the last run."""
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
    if latest is not None:
        start = max(start, latest + interval)
    if settings.backfill_days == 0 or start >= now - interval:
        return 0
    if latest is None:
        log.info("first start: writing %s days of demo history (once)", settings.backfill_days)
    stored = simulator.backfill(raw_dsn(settings.database_url), settings.timezone, fleet, start, now, interval,
                                progress=progress)
    log.info("demo history: %s readings written", stored)
    return stored


def start_live_fleet(settings: Settings) -> simulator.LivePublisher:
    publisher = simulator.LivePublisher(settings.mqtt_url, demo_fleet(), settings.demo_interval_seconds, qos=1,
                                        protocol=5 if settings.mqtt_protocol == 5 else 4,
                                        client_id="tds-demo-fleet")
    publisher.start()
    return publisher
