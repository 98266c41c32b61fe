"""Keeping the running broker in step with the database: CRL file, ACL file, then SIGHUP."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection

from tds_dash.certificates import store
from tds_dash.certificates.acl import render_acl
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.crl import build_crl, crl_pem
from tds_dash.certificates.files import write_atomic
from tds_dash.certificates.pki import Authority

log = logging.getLogger(__name__)

# Mosquitto 2.0.11 clears its reload flag when a reload ends, so a SIGHUP arriving while it still reloads
# from an earlier one is lost (test_crt012: three certificates issued milliseconds apart left the third
# out of the live ACL). So this process spaces its signals by more than a reload takes, and sends a
# follow-up once any reload in progress has surely ended (covering a signal from another process).
MIN_SIGNAL_GAP_SECONDS = 0.3
FOLLOW_UP_SECONDS = 1.0


class _SignalPacer:
    """This process's SIGHUPs to the broker, never two within MIN_SIGNAL_GAP_SECONDS (one per process:
    it guards a property of the broker process, not of any user or request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")

    def send(self, pid: int) -> None:
        with self._lock:
            time.sleep(max(0.0, self._last + MIN_SIGNAL_GAP_SECONDS - time.monotonic()))
            try:
                os.kill(pid, signal.SIGHUP)
            finally:
                self._last = time.monotonic()


_pacer = _SignalPacer()


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What a sync wrote and whether the broker was told to reload."""

    crl_file: Path
    acl_file: Path
    reloaded: bool
    detail: str  # why not reloaded, for logs and the CLI


def write_crl(conn: Connection, config: PkiConfig, authority: Authority, now: datetime) -> Path:
    """A fresh CRL of every revoked, unexpired certificate, written where the broker reads it."""
    crl = build_crl(authority, store.revoked_entries(conn, now), now, config.crl_days)
    return write_atomic(config.crl_file, crl_pem(crl), mode=0o644)


def write_acl(conn: Connection, config: PkiConfig, now: datetime) -> Path:
    text = render_acl(store.acl_identities(conn, now), store.revoked_only_identities(conn, now), now,
                      config.ingest_topics)
    return write_atomic(config.acl_file, text, mode=0o644)


def reload_broker(pid_file: Path | None) -> tuple[bool, str]:
    """SIGHUP to the pid in `pid_file`: Mosquitto rereads the ACL (for connected clients too) and the CRL."""
    if pid_file is None:
        return False, "TDS_BROKER_PID_FILE is not set: reload the broker yourself (SIGHUP)"
    try:
        pid = int(Path(pid_file).read_text().strip())
        _pacer.send(pid)
    except (OSError, ValueError) as error:
        log.warning("broker not reloaded (pid file %s): %s", pid_file, error)
        return False, f"could not signal the broker from {pid_file}: {error}"
    threading.Timer(FOLLOW_UP_SECONDS, _follow_up, (Path(pid_file), pid)).start()
    return True, f"SIGHUP sent to {pid}"


def _follow_up(pid_file: Path, pid: int) -> None:
    """The follow-up SIGHUP, only if the pid file still names that broker (a stopped one removes it)."""
    with contextlib.suppress(OSError, ValueError):
        if int(pid_file.read_text().strip()) == pid:
            _pacer.send(pid)


def sync_broker_files(conn: Connection, config: PkiConfig, authority: Authority, now: datetime) -> SyncResult:
    """CRL first (new handshakes of a revoked certificate fail), then the ACL (its live session loses its
    topics), then SIGHUP; the advisory lock keeps two writers from interleaving their snapshots."""
    store.lock_broker_files(conn)
    crl_file = write_crl(conn, config, authority, now)
    acl_file = write_acl(conn, config, now)
    reloaded, detail = reload_broker(config.pid_file)
    return SyncResult(crl_file, acl_file, reloaded, detail)
