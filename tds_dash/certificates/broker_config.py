"""`broker-config`: a complete mosquitto.conf for mTLS gateways plus a password listener for the ingest."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

from tds_dash.certificates.config import INGEST_USERNAME, PkiConfig
from tds_dash.certificates.files import write_atomic
from tds_dash.certificates.issuing import sign_server_certificate
from tds_dash.certificates.passwords import new_password, password_file_line
from tds_dash.certificates.pki import Authority, key_pem, new_key

# Same limits as deploy/mosquitto.conf: a little above the contract's 256 KiB, and room for the ingest's
# acknowledge-after-commit window.
GENERAL = ("max_inflight_messages 1000", "max_queued_messages 100000", "message_size_limit 300000")


@dataclasses.dataclass(frozen=True)
class BrokerLayout:
    """Where the broker listens and keeps its files."""

    out_dir: Path
    hosts: tuple[str, ...] = ("localhost",)  # names (and IPs) gateways connect to: the server certificate's SANs
    tls_port: int = 8883
    tls_bind: str | None = None  # None: every interface
    ingest_host: str = "127.0.0.1"  # keep the password listener off public networks
    ingest_port: int = 1884
    persistence_dir: Path | None = None  # None: no persistence (tests); production passes a directory
    run_as: str | None = None  # `user` directive: the account a broker started as root switches to
    extra_lines: tuple[str, ...] = ()  # anything else (tests: `log_dest stderr`)
    ingest_address: str | None = None  # host in the ingest's MQTT_URL when it differs from the listen address


@dataclasses.dataclass(frozen=True)
class IngestCredential:
    username: str
    password: str
    mqtt_url: str  # what MQTT_URL of the ingest processes should be


def ingest_credential(pki: PkiConfig, layout: BrokerLayout) -> IngestCredential:
    """The ingest's password, kept (0600) under TDS_PKI_DIR and reused, so re-running broker-config
    does not lock out ingest processes that already have it."""
    password = None
    if pki.ingest_credential_file.exists():
        password = json.loads(pki.ingest_credential_file.read_text()).get("password")
    password = password or new_password()
    host = layout.ingest_address or layout.ingest_host
    url = f"mqtt://{INGEST_USERNAME}:{password}@{host}:{layout.ingest_port}"
    credential = IngestCredential(INGEST_USERNAME, password, url)
    write_atomic(pki.ingest_credential_file, json.dumps(dataclasses.asdict(credential), indent=2) + "\n", mode=0o600)
    return credential


def render_config(layout: BrokerLayout, pki: PkiConfig, at: datetime) -> str:
    """mosquitto.conf text; every path absolute so the broker can be started from anywhere."""
    out = layout.out_dir.resolve()
    persistence = (["persistence true", f"persistence_location {layout.persistence_dir}/"]
                   if layout.persistence_dir else ["persistence false"])
    lines = [
        f"# Mosquitto 2.0 for TDS Telemetry, written by `python -m tds_dash broker-config` at {at:%Y-%m-%d %H:%M}Z.",
        "# Regenerate rather than edit. The app rewrites acl_file and crlfile on every certificate change",
        "# and sends this broker SIGHUP (pid_file / TDS_BROKER_PID_FILE), which rereads both.",
        "",
        "# Each listener has its own authentication and ACL settings below.",
        "per_listener_settings true",
        *persistence,
        *([f"pid_file {pki.pid_file}"] if pki.pid_file else []),
        *GENERAL,
        "log_dest stdout",
        *(["# Started as root, switch to the app's user: it reads the keys, the app rewrites ACL/CRL and signals it.",
           f"user {layout.run_as}"] if layout.run_as else []),
        *layout.extra_lines,
        "",
        *_tls_listener(layout, pki, out),
        "",
        *_ingest_listener(layout, pki, out),
    ]
    return "\n".join(lines) + "\n"


def _tls_listener(layout: BrokerLayout, pki: PkiConfig, out: Path) -> list[str]:
    return [
        "# Gateways: mutual TLS. Only certificates signed by our CA connect; the certificate's CN (the gateway",
        "# serial) becomes the username and, since use_username_as_clientid applies after it, the client id:",
        "# a gateway cannot take another's client id, nor the ingest's (no gateway serial may start with tds-ingest).",
        f"listener {layout.tls_port}" + (f" {layout.tls_bind}" if layout.tls_bind else ""),
        f"cafile {out / 'ca.pem'}",
        f"certfile {out / 'server.pem'}",
        f"keyfile {out / 'server.key'}",
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
        "# Checked at each new TLS handshake only; a live session of a revoked gateway loses its topics via the ACL.",
        f"crlfile {pki.crl_file}",
        f"acl_file {pki.acl_file}",
        "allow_anonymous false",
    ]


def _ingest_listener(layout: BrokerLayout, pki: PkiConfig, out: Path) -> list[str]:
    return [
        "# The ingest: one user with a password, on loopback (or a private network) only.",
        f"listener {layout.ingest_port} {layout.ingest_host}",
        f"password_file {out / 'passwd'}",
        f"acl_file {pki.acl_file}",
        "allow_anonymous false",
    ]


def write_broker_files(layout: BrokerLayout, pki: PkiConfig, authority: Authority, at: datetime) -> IngestCredential:
    """Server key and certificate (SANs = hosts), password file, mosquitto.conf; returns the ingest credential."""
    out = layout.out_dir.resolve()
    if layout.persistence_dir is not None:
        layout.persistence_dir.mkdir(parents=True, exist_ok=True)  # Mosquitto does not create it
    key = new_key()
    server = sign_server_certificate(authority, list(layout.hosts), key.public_key(), at, pki.validity_days)
    write_atomic(out / "server.key", key_pem(key), mode=0o600)
    write_atomic(out / "server.pem", server.cert_pem + authority.cert_pem, mode=0o644)
    write_atomic(out / "ca.pem", authority.cert_pem, mode=0o644)  # the broker then reads only this directory
    credential = ingest_credential(pki, layout)
    write_atomic(out / "passwd", password_file_line(credential.username, credential.password), mode=0o600)
    write_atomic(out / "mosquitto.conf", render_config(layout, pki, at), mode=0o644)
    return credential
