"""The status topic tds/{account}/{gateway}/status: births ('online') and Last Wills ('offline').

The paho thread only parses and enqueues (parse_status); one StatusRecorder thread owns a connection,
stores the signal, applies the gateway's presence transition at once (a will means offline within
seconds, not at the next sweep) and then acknowledges the message.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ingest.db import create_db_engine, normalize_database_url
from ingest.payload import Rejection, topic_source
from ingest.presence import jobs as presence
from ingest.presence import statements as queries
from ingest.statements import INSERT_REJECTED, RejectedRow, rejected_values

log = logging.getLogger(__name__)

STATUS_TOPIC = re.compile(r"tds/([a-z0-9][a-z0-9-]{1,62})/([A-Za-z0-9][A-Za-z0-9_.-]{1,63})/status")
STATUS_VALUES = ("online", "offline")
MAX_STATUS_BYTES = 64
STOP = object()


@dataclasses.dataclass
class StatusSignal:
    topic: str
    payload: bytes
    received_at: datetime
    retained: bool
    account: str | None = None
    serial: str | None = None
    status: str | None = None
    rejection: Rejection | None = None
    ack: Callable[[], None] | None = None


def is_status_topic(topic: str) -> bool:
    return topic.endswith("/status")


def parse_status(topic: str, payload: bytes) -> tuple[str, str, str]:
    """(account, serial, 'online' | 'offline'); anything else is an `invalid_status` rejection."""
    match = STATUS_TOPIC.fullmatch(topic)
    if match is None:
        raise Rejection("invalid_topic", f"topic {topic[:200]!r} is not tds/{{account}}/{{gateway}}/status")
    if len(payload) > MAX_STATUS_BYTES:
        raise Rejection("invalid_status", f"{len(payload)} bytes; the status is the word online or offline")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Rejection("invalid_status", "not UTF-8") from None
    if text not in STATUS_VALUES:
        raise Rejection("invalid_status", f"{text[:40]!r} is neither online nor offline")
    return match.group(1), match.group(2), text


def signal_from_message(topic: str, payload: bytes, received_at: datetime, retained: bool,
                        ack: Callable[[], None] | None) -> StatusSignal:
    signal = StatusSignal(topic, payload, received_at, retained, ack=ack)
    try:
        signal.account, signal.serial, signal.status = parse_status(topic, payload)
    except Rejection as rejection:
        signal.rejection = rejection
    return signal


class StatusRecorder(threading.Thread):
    """Owns one connection; stores each status signal and applies its presence transition, then acks."""

    def __init__(self, database_url: str, inbox: "queue.Queue", flap_window: timedelta) -> None:
        """database_url: a postgres://, postgresql:// or postgresql+psycopg:// URL."""
        super().__init__(name="tds-status-recorder", daemon=True)

        self.engine = create_db_engine(normalize_database_url(database_url), pool_size=1)
        self.inbox = inbox
        self.flap_window = flap_window

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is STOP:
                break
            self._record_with_retry(item)
        self.engine.dispose()

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self.inbox.put(STOP, timeout=timeout)
        except queue.Full:  # recorder stuck (database down): it is a daemon thread, do not hang the stop
            log.warning("status recorder did not take the stop request within %.0f s", timeout)
        self.join(timeout)

    def _record_with_retry(self, signal: StatusSignal) -> None:
        delay = 0.2
        for _attempt in range(8):
            try:
                self.record(signal)
                break
            except sa.exc.OperationalError as error:  # database away: keep the signal, retry with backoff
                log.warning("status signal not stored yet: %s", error)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # a defect must cost one status message, never the thread
                log.exception("status signal from %s dropped", signal.topic)
                break
        else:
            return  # not acknowledged: the broker redelivers it after our reconnect
        if signal.ack is not None:
            signal.ack()

    def record(self, signal: StatusSignal) -> None:
        with self.engine.begin() as conn:
            if signal.rejection is not None:
                self._reject(conn, signal, signal.rejection.reason, signal.rejection.detail)
                return
            gateway_id = queries.record_status_signal(conn, signal.account, signal.serial, signal.status,
                                                      signal.received_at, signal.retained)
            if gateway_id is None:
                self._reject(conn, signal, "unknown_gateway",
                             f"no gateway {signal.serial!r} under account {signal.account!r}")
                return
            if signal.retained and signal.status == "online":
                return  # an old birth replayed by the broker: stored, but no evidence of anything now
        presence.check_gateways(self.engine, datetime.now(timezone.utc), self.flap_window, gateway_id=gateway_id,
                                sweep_lock=False)

    @staticmethod
    def _reject(conn, signal: StatusSignal, reason: str, detail: str) -> None:
        if signal.retained:
            # Replayed by the broker on every reconnect of ours: recording it each time would be noise.
            log.info("ignoring retained status on %s: %s %s", signal.topic, reason, detail)
            return
        account, serial = topic_source(signal.topic)
        row = RejectedRow(signal.received_at, signal.topic, reason, detail, account, serial, 0, 0, signal.payload)
        # The ingest's own statement, through SQLAlchemy's DBAPI path (psycopg's %s placeholders).
        conn.exec_driver_sql(INSERT_REJECTED, rejected_values(row))
