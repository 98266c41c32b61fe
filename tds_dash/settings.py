"""Settings read from the environment (12-factor); every variable is listed in README."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.db import DatabaseUrlError, normalize_database_url
from ingest.subscriber import KEEPALIVE_SECONDS as MQTT_KEEPALIVE_SECONDS


class SettingsError(ValueError):
    """A setting has a value the app cannot run with."""


def _int(env: dict, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true/false)")


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str | None
    mqtt_url: str | None
    timezone: str
    language: str
    refresh_seconds: int
    data_dir: Path
    host: str
    port: int
    mqtt_client_id: str
    mqtt_protocol: int
    mqtt_topic: str
    ingest_batch_size: int
    ingest_flush_ms: int
    ingest_queue_size: int
    demo_fleet: bool
    backfill_days: int
    backfill_interval_seconds: int
    rejected_retention_days: int
    late_data_days: int
    demo_interval_seconds: int
    embedded_mqtt_port: int
    start_ingest: bool
    start_scheduler: bool
    secret_key: str | None  # None: the random key file under data_dir (tds_dash.auth.session_key)
    environment: str = "development"
    https: bool = False
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    retention_days: int | None = None  # TimescaleDB: drop raw chunks older than this; None keeps all
    mqtt_status_topic: str = "tds/+/+/status"  # births and Last Wills; "" turns the subscription off
    presence_check_seconds: int = 5  # at most 5: offline is declared within 10 s of the timeout
    flap_window_minutes: int = 10
    rejected_burst: int = 20  # rejected messages from one source within 5 minutes that make an event
    ingest_slots: int = 1  # processes that may ingest at once (advisory-lock slots); > 1 subscribes shared
    mqtt_shared_group: str = "tds-ingest"  # $share/<group>/<topic> when ingest_slots > 1
    ingest_stall_seconds: int = 60  # a batch not committed for this long makes /api/health answer 503
    rejected_max_rows: int = 100_000  # rejected_messages keeps at most this many rows (newest)
    rollups_deferred: bool = True  # the rollup worker merges changed keys after the commit (off the PUBACK path)
    rollup_pass_ms: int = 500  # a rollup pass starts at most this often while keys keep coming
    proxy_hops: int = 0  # reverse proxies in front that set X-Forwarded-For; 0 ignores the header
    api_rate_limit: str = "120/minute"  # /api/v1 requests per user (Flask-Limiter syntax), per process
    api_concurrency: int = 2  # /api/v1 requests one user may have in flight in one process
    api_total_concurrency: int = 4  # /api/v1 requests in flight in one process, all users: threads stay free
    # Gateway certificates (tds_dash.certificates); None paths mean "under data_dir" (certificates.config).
    pki_dir: Path | None = None  # our CA (key 0600) and the ingest credential
    pki_ca_cert_file: Path | None = None  # production: a CA kept elsewhere, given as files
    pki_ca_key_file: Path | None = None
    cert_validity_days: int = 730
    crl_days: int = 30  # CRL nextUpdate; re-issued when less than a third of it is left
    broker_acl_file: Path | None = None  # written by the app, read by Mosquitto (acl_file)
    broker_crl_file: Path | None = None  # written by the app, read by Mosquitto (crlfile)
    broker_pid_file: Path | None = None  # Mosquitto's pid: SIGHUP after every ACL/CRL change; None: no reload
    alarm_grace_seconds: int | None = None  # None: 2 x presence check + broker keepalive (alarm_grace)
    alarm_renotify_hours: int = 4  # an unacknowledged critical alarm is notified again this often; 0: never
    smtp_url: str | None = None  # smtp://user:pass@host:25, smtps://host:465, ?starttls=true
    smtp_from: str = "tds-telemetry@localhost"
    public_url: str = "http://127.0.0.1:8050"  # base of the links in notifications
    webhook_allow_private: bool = False  # webhooks to loopback/private addresses (SSRF guard off)
    present_seconds: int = 15  # presentation mode (/present): seconds each slide stays before the next
    demo_broker: str = "auto"  # embedded broker: mosquitto (mTLS) when installed, else amqtt; or forced
    embedded_mqtt_tls_port: int = 8883  # the embedded Mosquitto's mTLS listener for gateways
    cost_warm_seconds: int = 60  # the cost warm-up job's period (consumption/cost_warmup.py); 0: off

    @property
    def embedded(self) -> bool:
        """True when neither DATABASE_URL nor MQTT_URL is given: run everything locally."""
        return self.database_url is None and self.mqtt_url is None

    @property
    def alarm_grace(self) -> int:
        """Seconds gateway-offline alarms wait after a start: presence needs two checks and the broker a keepalive."""
        if self.alarm_grace_seconds is not None:
            return self.alarm_grace_seconds
        return 2 * self.presence_check_seconds + MQTT_KEEPALIVE_SECONDS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _database_url(raw: str | None) -> str | None:
    try:
        return normalize_database_url(raw)
    except DatabaseUrlError as error:
        raise SettingsError(str(error)) from None


def _mqtt_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise SettingsError("MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883")
    return raw


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TDS_TIMEZONE={raw!r} is not an IANA time zone") from None
    return raw


def _retention_days(env: dict, late_data_days: int) -> int | None:
    """TDS_RETENTION_DAYS: unset keeps raw readings forever; else it must outlast the late-data window."""
    if env.get("TDS_RETENTION_DAYS", "") == "":
        return None
    days = _int(env, "TDS_RETENTION_DAYS", 0, 1, 36500)
    if days <= late_data_days:
        raise SettingsError(f"TDS_RETENTION_DAYS={days} must be longer than TDS_LATE_DATA_DAYS={late_data_days}:"
                            " late readings would land in dropped chunks")
    return days


def _secret_key(env: dict) -> str | None:
    """SECRET_KEY, or None: development then uses a random key file under the data directory.

    Production refuses to start without a real key; no mode ever falls back to a constant.
    """
    environment = env.get("TDS_ENV", "development")
    if environment not in {"development", "production"}:
        raise SettingsError("TDS_ENV must be development or production")
    key = env.get("SECRET_KEY", "")
    if environment == "production" and len(key) < 16:
        raise SettingsError("SECRET_KEY must be set (16+ characters) when TDS_ENV=production")
    if key and len(key) < 16:
        raise SettingsError("SECRET_KEY must be 16+ characters (or unset: a random key is kept under TDS_DATA_DIR)")
    return key or None


def _rate_limit(raw: str) -> str:
    """TDS_API_RATE_LIMIT in Flask-Limiter's notation, e.g. "120/minute" or "10/second;1000/hour"."""
    from limits import parse_many  # noqa: PLC0415 - only settings validation needs it; keeps import light

    try:
        parse_many(raw)
    except ValueError:
        raise SettingsError(f"TDS_API_RATE_LIMIT={raw!r} is not a rate like 120/minute") from None
    return raw


def _smtp_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise SettingsError("TDS_SMTP_URL must look like smtp://user:pass@host:25 or smtps://host:465")
    if parts.username and parts.scheme == "smtp" and "starttls=true" not in parts.query.lower():
        # A password must never cross the network in clear text.
        raise SettingsError("TDS_SMTP_URL has credentials: use smtps:// or add ?starttls=true")
    return raw


def _choice(env: dict, name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default)."""
    raw = env.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _shared_group(raw: str) -> str:
    # A share name is one topic level: no wildcards, no separators (MQTT 5, 4.8.2).
    if not raw or any(ch in raw for ch in "/+#") or len(raw) > 64:
        raise SettingsError(f"TDS_MQTT_SHARED_GROUP={raw!r} must be 1-64 characters without '/', '+' or '#'")
    return raw


def _pki_paths(env: dict, data_dir: Path) -> dict:
    """TDS_PKI_* and TDS_BROKER_* paths; the CA comes as both files or neither."""
    pki_dir = Path(env.get("TDS_PKI_DIR") or data_dir / "pki").resolve()
    ca_cert, ca_key = env.get("TDS_PKI_CA_CERT_FILE") or None, env.get("TDS_PKI_CA_KEY_FILE") or None
    if (ca_cert is None) != (ca_key is None):
        raise SettingsError("TDS_PKI_CA_CERT_FILE and TDS_PKI_CA_KEY_FILE must be set together")
    pid_file = env.get("TDS_BROKER_PID_FILE") or None
    return {
        "pki_dir": pki_dir,
        "pki_ca_cert_file": Path(ca_cert).resolve() if ca_cert else None,
        "pki_ca_key_file": Path(ca_key).resolve() if ca_key else None,
        "broker_acl_file": Path(env.get("TDS_BROKER_ACL_FILE") or pki_dir / "broker" / "acl").resolve(),
        "broker_crl_file": Path(env.get("TDS_BROKER_CRL_FILE") or pki_dir / "broker" / "crl.pem").resolve(),
        "broker_pid_file": Path(pid_file).resolve() if pid_file else None,
    }


def load_settings(env: dict | None = None) -> Settings:
    """Build Settings from a mapping (os.environ by default), failing with a clear message."""
    env = dict(os.environ if env is None else env)
    language = env.get("TDS_LANGUAGE", "pt-BR")
    if language not in {"pt-BR", "en"}:
        raise SettingsError("TDS_LANGUAGE must be pt-BR or en")
    protocol = env.get("TDS_MQTT_PROTOCOL", "5")
    if protocol not in {"5", "3.1.1"}:
        raise SettingsError("TDS_MQTT_PROTOCOL must be 5 or 3.1.1")
    database_url = _database_url(env.get("DATABASE_URL"))
    mqtt_url = _mqtt_url(env.get("MQTT_URL"))
    embedded = database_url is None and mqtt_url is None
    late_data_days = _int(env, "TDS_LATE_DATA_DAYS", 7, 1, 365)
    data_dir = Path(env.get("TDS_DATA_DIR", "var")).resolve()
    return Settings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        timezone=_timezone(env.get("TDS_TIMEZONE", "America/Sao_Paulo")),
        language=language,
        refresh_seconds=_int(env, "TDS_REFRESH_SECONDS", 30, 2, 3600),
        data_dir=data_dir,
        host=env.get("TDS_HOST", "127.0.0.1"),
        port=_int(env, "PORT", 8050, 1, 65535),
        mqtt_client_id=env.get("TDS_MQTT_CLIENT_ID", "tds-ingest"),
        mqtt_protocol=5 if protocol == "5" else 4,
        mqtt_topic=env.get("TDS_MQTT_TOPIC", "tds/+/+/telemetry"),
        ingest_batch_size=_int(env, "TDS_INGEST_BATCH_SIZE", 20_000, 1, 100_000),
        ingest_flush_ms=_int(env, "TDS_INGEST_FLUSH_MS", 0, 0, 10_000),
        ingest_queue_size=_int(env, "TDS_INGEST_QUEUE_SIZE", 50_000, 10, 10_000_000),
        demo_fleet=_bool(env, "TDS_DEMO_FLEET", embedded),
        backfill_days=_int(env, "TDS_BACKFILL_DAYS", 400, 0, 3650),
        backfill_interval_seconds=_int(env, "TDS_BACKFILL_INTERVAL_SECONDS", 1800, 60, 86400),
        late_data_days=late_data_days,
        rejected_retention_days=_int(env, "TDS_REJECTED_RETENTION_DAYS", 30, 1, 3650),
        demo_interval_seconds=_int(env, "TDS_DEMO_INTERVAL_SECONDS", 10, 1, 3600),
        embedded_mqtt_port=_int(env, "TDS_EMBEDDED_MQTT_PORT", 1883, 1, 65535),
        start_ingest=_bool(env, "TDS_INGEST", True),
        start_scheduler=_bool(env, "TDS_SCHEDULER", True),
        secret_key=_secret_key(env),
        environment=env.get("TDS_ENV", "development"),
        https=_bool(env, "TDS_HTTPS", False),
        mqtt_ca_file=env.get("TDS_MQTT_CA_FILE") or None,
        mqtt_cert_file=env.get("TDS_MQTT_CERT_FILE") or None,
        mqtt_key_file=env.get("TDS_MQTT_KEY_FILE") or None,
        retention_days=_retention_days(env, late_data_days),
        mqtt_status_topic=env.get("TDS_MQTT_STATUS_TOPIC", "tds/+/+/status"),
        presence_check_seconds=_int(env, "TDS_PRESENCE_CHECK_SECONDS", 5, 1, 5),
        flap_window_minutes=_int(env, "TDS_FLAP_WINDOW_MINUTES", 10, 1, 1440),
        rejected_burst=_int(env, "TDS_REJECTED_BURST", 20, 1, 1_000_000),
        ingest_slots=_int(env, "TDS_INGEST_SLOTS", 1, 1, 64),
        mqtt_shared_group=_shared_group(env.get("TDS_MQTT_SHARED_GROUP", "tds-ingest")),
        ingest_stall_seconds=_int(env, "TDS_INGEST_STALL_SECONDS", 60, 1, 3600),
        rejected_max_rows=_int(env, "TDS_REJECTED_MAX_ROWS", 100_000, 10, 100_000_000),
        rollups_deferred=_bool(env, "TDS_ROLLUP_DEFERRED", True),
        rollup_pass_ms=_int(env, "TDS_ROLLUP_PASS_MS", 500, 50, 10_000),
        proxy_hops=_int(env, "TDS_PROXY_HOPS", 0, 0, 5),
        api_rate_limit=_rate_limit(env.get("TDS_API_RATE_LIMIT", "120/minute")),
        api_concurrency=_int(env, "TDS_API_CONCURRENCY", 2, 1, 64),
        api_total_concurrency=_int(env, "TDS_API_TOTAL_CONCURRENCY", 4, 1, 256),
        cert_validity_days=_int(env, "TDS_CERT_VALIDITY_DAYS", 730, 1, 3650),
        crl_days=_int(env, "TDS_CRL_DAYS", 30, 1, 365),
        **_pki_paths(env, data_dir),
        alarm_grace_seconds=(None if env.get("TDS_ALARM_GRACE_SECONDS", "") == ""
                             else _int(env, "TDS_ALARM_GRACE_SECONDS", 0, 0, 3600)),
        alarm_renotify_hours=_int(env, "TDS_ALARM_RENOTIFY_HOURS", 4, 0, 168),
        smtp_url=_smtp_url(env.get("TDS_SMTP_URL")),
        smtp_from=env.get("TDS_SMTP_FROM", "tds-telemetry@localhost"),
        public_url=env.get("TDS_PUBLIC_URL", "http://127.0.0.1:8050").rstrip("/"),
        webhook_allow_private=_bool(env, "TDS_WEBHOOK_ALLOW_PRIVATE", False),
        present_seconds=_int(env, "TDS_PRESENT_SECONDS", 15, 5, 600),
        demo_broker=_choice(env, "TDS_DEMO_BROKER", ("auto", "mosquitto", "amqtt")),
        embedded_mqtt_tls_port=_int(env, "TDS_EMBEDDED_MQTT_TLS_PORT", 8883, 1, 65535),
        cost_warm_seconds=_int(env, "TDS_COST_WARM_SECONDS", 60, 0, 3600),
    )
