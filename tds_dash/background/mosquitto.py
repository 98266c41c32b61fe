"""The demo's broker when Debian's `mosquitto` is installed: mTLS for gateways, a password listener for the ingest.

Configured by the same code as `broker-config` (tds_dash.certificates.broker_config), under the PKI directory
($TDS_PKI_DIR, default var/pki): `broker/mosquitto.conf` with its server certificate, the password file, the
ACL and CRL the app rewrites, and `broker/mosquitto.pid`, which the app (and `certs …` from a shell) signals
after every certificate or gateway change. The demo gateways' certificates are issued once through the same
service as the UI's and kept in `demo-gateways/` (0600 keys), so a restart reuses them; one revoked or
expired meanwhile is replaced at the next start.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ingest.simulator.publisher import TlsFiles
from tds_dash.certificates import store
from tds_dash.certificates.broker_config import BrokerLayout, write_broker_files
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.files import write_atomic
from tds_dash.certificates.pki import fingerprint_sha256, load_or_create_authority, utc_now
from tds_dash.certificates.service import Actor, issue_for_gateway, sync_now
from tds_dash.db import create_db_engine, session_scope
from tds_dash.settings import Settings

log = logging.getLogger(__name__)

# Debian puts it in /usr/sbin, which a normal user's PATH often lacks.
CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
HOSTS = ("localhost", "127.0.0.1")  # the server certificate's names: the demo listens on loopback only
DEMO_ACTOR = Actor(None, "demo")
INSTALL_HINT = "apt install mosquitto"


def find_mosquitto() -> str | None:
    """The mosquitto binary on PATH or where Debian installs it; None when absent."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


def demo_pid_file(settings: Settings) -> Path:
    """Where the demo's Mosquitto writes its pid (unless TDS_BROKER_PID_FILE says otherwise)."""
    return settings.broker_pid_file or PkiConfig.from_settings(settings).pki_dir / "broker" / "mosquitto.pid"


PR_SET_PDEATHSIG = 1


def _parent_death_signal():
    """A preexec_fn asking Linux to SIGTERM the broker when the app dies, even by SIGKILL; None elsewhere.

    prctl is looked up here, in the parent: the child only makes the call (no dlopen after fork)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_open(host: str, port: int) -> bool:
    import socket  # noqa: PLC0415 -- only the start-up wait needs it

    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


@dataclasses.dataclass
class DemoMosquitto:
    """Mosquitto on loopback: `tls_port` for gateways (client certificates), `ingest_port` for the ingest."""

    binary: str
    settings: Settings  # with broker_pid_file set (the app signals it)
    tls_port: int
    ingest_port: int
    host: str = "127.0.0.1"
    ingest_url: str | None = None  # mqtt://tds-ingest:<password>@host:port once the files are written
    example: tuple[str, str] | None = None  # a demo gateway (serial, topic) for the start-up message
    process: subprocess.Popen | None = None

    @property
    def pki(self) -> PkiConfig:
        return PkiConfig.from_settings(self.settings)

    @property
    def broker_dir(self) -> Path:
        return self.pki.pki_dir / "broker"

    @property
    def certificates_dir(self) -> Path:
        return self.pki.pki_dir / "demo-gateways"

    @property
    def log_file(self) -> Path:
        return self.settings.data_dir / "mosquitto" / "mosquitto.log"

    @property
    def url(self) -> str:
        """The gateways' address (safe to print)."""
        return f"mqtts://{self.host}:{self.tls_port}"

    @property
    def ingest_address(self) -> str:
        return f"mqtt://{self.host}:{self.ingest_port}"

    def tls_files(self) -> TlsFiles:
        """What the demo fleet's simulator connects with: our CA and each gateway's own certificate."""
        return TlsFiles(str(self.pki.ca_cert_file), str(self.certificates_dir / "{serial}.crt"),
                        str(self.certificates_dir / "{serial}.key"))

    def prepare(self, gateways: list[tuple[str, str]]) -> None:
        """CA, certificates for the demo gateways ((serial, telemetry topic)) lacking a usable one, CRL/ACL,
        mosquitto.conf."""
        serials = [serial for serial, _ in gateways]
        self.example = gateways[0] if gateways else None
        # No SIGHUP while preparing: the broker is not running yet, and a stale pid file may name anything.
        quiet = dataclasses.replace(self.pki, pid_file=None)
        engine = create_db_engine(self.settings.database_url, pool_size=1)
        try:
            with session_scope(engine) as conn:
                sync_now(conn, quiet, create_ca=True)
            issued = [serial for serial in serials if self._ensure_certificate(engine, quiet, serial)]
        finally:
            engine.dispose()
        if issued:
            log.info("issued demo gateway certificates for %s in %s", ", ".join(issued), self.certificates_dir)
        data = self.settings.data_dir / "mosquitto"
        data.mkdir(parents=True, exist_ok=True)
        layout = BrokerLayout(self.broker_dir, HOSTS, self.tls_port, self.host, self.host, self.ingest_port,
                              persistence_dir=data, run_as=pwd.getpwuid(os.getuid()).pw_name,
                              extra_lines=("log_dest stderr",))
        self.ingest_url = write_broker_files(layout, self.pki, load_or_create_authority(self.pki), utc_now()).mqtt_url

    def _ensure_certificate(self, engine, pki: PkiConfig, serial: str) -> bool:
        """Reuse the gateway's files while their certificate is active; else issue one. True when issued."""
        cert_file, key_file = self.certificates_dir / f"{serial}.crt", self.certificates_dir / f"{serial}.key"
        with session_scope(engine) as conn:
            gateway = store.get_gateway(conn, serial)
            if gateway is None:
                return False
            if cert_file.exists() and key_file.exists():
                from cryptography import x509  # noqa: PLC0415

                fingerprint = fingerprint_sha256(x509.load_pem_x509_certificate(cert_file.read_bytes()))
                if any(row.fingerprint_sha256 == fingerprint and row.status == "active"
                       for row in store.list_certificates(conn, utc_now(), gateway.id)):
                    return False
            bundle = issue_for_gateway(conn, DEMO_ACTOR, serial, pki=pki)
            self.certificates_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(key_file, bundle.key_pem, mode=0o600)
            write_atomic(cert_file, bundle.cert_pem, mode=0o644)
        return True

    def start(self, timeout: float = 15.0) -> None:
        """Start the process and wait until both listeners accept connections."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log_handle:
            self.process = subprocess.Popen([self.binary, "-c", str(self.broker_dir / "mosquitto.conf")],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_handle,
                                            # Its own session: Ctrl-C in the terminal reaches only the
                                            # app, which stops the broker last, after the ingest's final acks.
                                            start_new_session=True, preexec_fn=_parent_death_signal())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if _port_open(self.host, self.tls_port) and _port_open(self.host, self.ingest_port):
                return
            time.sleep(0.05)
        tail = self.log_file.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"mosquitto did not start ({self.log_file}):\n{tail}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def describe(self) -> list[str]:
        """What the start-up message says about this broker, with a mosquitto_pub line to copy."""
        ca, certs = self.pki.ca_cert_file, self.certificates_dir
        lines = [f"MQTT broker: Mosquitto with mTLS: gateways on {self.url} (client certificate required),"
                 f" the ingest on {self.ingest_address} (password)",
                 f"  CA {ca}; demo gateway certificates in {certs}/; broker log {self.log_file}"]
        if self.example is not None:
            serial, topic = self.example
            payload = ('{\\"v\\":1,\\"ts\\":\\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\\",\\"readings\\":'
                       '[{\\"device\\":\\"MED-001\\",\\"metric\\":\\"energy_kwh\\",\\"value\\":1.5}]}')
            lines.append(f"  publish as {serial}: mosquitto_pub -h localhost -p {self.tls_port} --cafile {ca}"
                         f" --cert {certs / (serial + '.crt')} --key {certs / (serial + '.key')} -q 1 -t {topic}"
                         f' -m "{payload}"')
        return lines
