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
    broker_notice: str | None = None  # said at start-up: the embedded broker runs without mTLS, and why
    stopped: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def demo_mqtt_url(self) -> str | None:
        """Where the demo fleet publishes: the embedded Mosquitto's mTLS listener, amqtt with the demo's
        credential, else MQTT_URL."""
        if self.broker is None:
            return self.settings.mqtt_url
        return self.broker.url if self.uses_mtls else self.broker.client_url("demo")

    def demo_tls(self):
        """The demo gateways' certificate files on the embedded Mosquitto; None otherwise."""
        return self.broker.tls_files() if self.uses_mtls else None

    @property
    def uses_mtls(self) -> bool:
        return hasattr(self.broker, "tls_files")

    def broker_address(self) -> str | None:
        """The broker's address without any credential (what may be printed)."""
        return self.broker.url if self.broker is not None else broker_credentials.redact(self.settings.mqtt_url)

    def broker_lines(self) -> list[str]:
        """What `run` prints about the broker: its addresses, and for amqtt that mTLS is off and how to get it."""
        if self.uses_mtls:
            return self.broker.describe()
        lines = [f"MQTT broker: {self.broker_address()} (topic tds/{{account}}/{{gateway}}/telemetry)"]
        if self.broker is not None:  # amqtt: a gateway needs the demo credential
            lines.append(f"  publish as a gateway: {self.demo_mqtt_url()} (var/mqtt-credentials.json)")
        if self.broker_notice:
            lines.append(f"  {self.broker_notice}")
        return lines

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


def start_embedded_postgres(settings: Settings, background: Background) -> Settings:
    """Start PostgreSQL locally; returns settings pointing at it."""
    # noqa below: embedded-postgres and amqtt load only when nothing external is configured.
    from tds_dash.background.embedded import EmbeddedPostgres  # noqa: PLC0415

    background.postgres = EmbeddedPostgres(settings.data_dir / "postgres", address_file_dir=settings.data_dir)
    return settings.replace(database_url=background.postgres.url)


def start_embedded_broker(settings: Settings, background: Background, gateways: list[tuple[str, str]]) -> Settings:
    """Mosquitto with mTLS when installed (or TDS_DEMO_BROKER=mosquitto), else amqtt; returns settings whose
    MQTT_URL is the ingest's credential on it. `gateways`: (serial, topic) of demo gateways to certify."""
    from tds_dash.background import mosquitto  # noqa: PLC0415

    binary = None if settings.demo_broker == "amqtt" else mosquitto.find_mosquitto()
    if binary is None and settings.demo_broker == "mosquitto":
        raise RuntimeError(f"TDS_DEMO_BROKER=mosquitto but no mosquitto binary was found ({mosquitto.INSTALL_HINT})")
    if binary is None:
        why = "TDS_DEMO_BROKER=amqtt" if settings.demo_broker == "amqtt" else "mosquitto is not installed"
        background.broker_notice = (f"mTLS is OFF ({why}): the embedded broker is amqtt and gateways log in with a"
                                    f" password. For gateway certificates and mutual TLS: {mosquitto.INSTALL_HINT}"
                                    " and restart (TDS_DEMO_BROKER=auto, the default, then picks it)")
        log.warning(background.broker_notice)
        return _start_amqtt(settings, background)
    from tds_dash.background.embedded import free_port, port_is_free  # noqa: PLC0415

    ports = []
    for name, port in (("TDS_EMBEDDED_MQTT_TLS_PORT", settings.embedded_mqtt_tls_port),
                       ("TDS_EMBEDDED_MQTT_PORT", settings.embedded_mqtt_port)):
        if not port_is_free("127.0.0.1", port) or port in ports:
            chosen = free_port()
            log.warning("port %s (%s) is busy; the embedded Mosquitto uses %s instead", port, name, chosen)
            port = chosen
        ports.append(port)
    settings = settings.replace(broker_pid_file=mosquitto.demo_pid_file(settings))
    broker = mosquitto.DemoMosquitto(binary, settings, ports[0], ports[1])
    broker.prepare(gateways)
    broker.start()
    background.broker = broker
    log.info("embedded Mosquitto (%s): mTLS for gateways on %s, the ingest on %s; SIGHUP via %s", binary,
             broker.url, broker.ingest_address, settings.broker_pid_file)
    return settings.replace(mqtt_url=broker.ingest_url)


def _start_amqtt(settings: Settings, background: Background) -> Settings:
    from tds_dash.background.embedded import EmbeddedBroker  # noqa: PLC0415

    broker = EmbeddedBroker(settings.embedded_mqtt_port, settings.data_dir, ingest_client_id=settings.mqtt_client_id)
    broker.start()
    background.broker = broker
    # amqtt speaks MQTT 3.1.1 only. The ingest gets its own credential; the demo fleet its own (demo_mqtt_url).
    return settings.replace(mqtt_url=broker.client_url("ingest"), mqtt_protocol=4)


def start_background(settings: Settings) -> Background:
    """Everything but the web server; call .stop() on the result (wired to SIGTERM/atexit by callers)."""
    background = Background(settings)
    try:
        embedded = settings.embedded
        if embedded:
            settings = start_embedded_postgres(settings, background)
            background.settings = settings
        prepare_database(settings)
        if settings.demo_fleet:
            background.history = demo.plan_demo(settings)
            background.demo_credentials = demo.ensure_demo_users(settings)
        if embedded:  # after the fleet is provisioned: Mosquitto's demo gateways get certificates first
            gateways = [(g.serial, g.topic) for g in demo.demo_fleet()] if settings.demo_fleet else []
            settings = start_embedded_broker(settings, background, gateways)
            background.settings = settings
        if settings.start_ingest and settings.mqtt_url:

            # Claims an ingest slot (or stands by while other processes hold them all), then ingests.
            background.ingest = IngestSupervisor(settings, raw_dsn(settings.database_url), settings.mqtt_url)
            background.ingest.start()
        if settings.start_scheduler:

            background.scheduler = start_scheduler(settings)
        if settings.demo_fleet and settings.mqtt_url:
            background.publisher = demo.start_live_fleet(settings, background.demo_mqtt_url(), background.demo_tls())
        if background.history is not None:
            background.history.start()  # after the live fleet: the app shows live data while history loads
    except BaseException:
        background.stop()
        raise
    return background

