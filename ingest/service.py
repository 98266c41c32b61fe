"""Start and stop the ingest: the writer thread, the status recorder and the MQTT subscriber, as one handle."""
from __future__ import annotations

import dataclasses
import logging
import queue
import time
from datetime import timedelta

from ingest.batch import ROLLUPS_DEFERRED, ROLLUPS_INLINE
from ingest.inbox import STOP, Inbox
from ingest.presence.recorder import StatusRecorder
from ingest.rollups import RollupWorker
from ingest.stats import IngestStats
from ingest.subscriber import RECEIVE_MAXIMUM, BrokerAddress, Subscriber
from ingest.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclasses.dataclass
class IngestHandle:
    subscriber: Subscriber
    writer: BatchWriter
    stats: IngestStats
    inbox: "queue.Queue"
    status: StatusRecorder | None = None
    rollups: RollupWorker | None = None  # None: the writer merges rollups inline (TDS_ROLLUP_DEFERRED=false)

    def queue_depth(self) -> int:
        """Messages waiting for the writer (the bound is on their weight, see ingest.inbox)."""
        return self.inbox.messages()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, flush and acknowledge what is queued, then disconnect.

        If the database stays unreachable past `timeout`, the writer gives up its batch unacknowledged:
        the broker keeps those messages in our session and redelivers them at the next start."""
        self.subscriber.stop_accepting()
        deadline = time.monotonic() + timeout
        while self.writer.is_alive() and time.monotonic() < deadline:
            try:
                self.inbox.put(STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self.writer.join(max(0.0, deadline - time.monotonic()))
        if self.writer.is_alive():
            log.warning("ingest writer did not finish within %ss (database unreachable?); unacknowledged messages"
                        " stay with the broker", timeout)
            self.writer.abandon.set()
            self.writer.join(5)
        if self.rollups is not None:
            self.rollups.stop(timeout)  # after the writer: its last batch's keys are merged before we go
        if self.status is not None:
            self.status.stop(timeout)
        self.subscriber.disconnect()


def slot_client_id(base: str, slot: int | None) -> str:
    """Slot 0 (or no slot) keeps the configured id, so a single ingester keeps its session across upgrades."""
    return base if not slot else f"{base}-{slot}"


def ingest_filters(settings) -> tuple[str, tuple[str, ...]]:
    """(filter to subscribe, filters to drop from the persistent session): shared when several slots ingest."""
    plain = settings.mqtt_topic
    shared = f"$share/{settings.mqtt_shared_group}/{plain}"
    return (shared, (plain,)) if settings.ingest_slots > 1 else (plain, (shared,))


def start_ingest(settings, dsn: str, mqtt_url: str, slot: int | None = None,
                 stats: IngestStats | None = None) -> IngestHandle:
    """Start the writer thread and the MQTT subscriber; returns a handle whose stop() drains them.

    `slot` (from ingest.supervisor) picks the client id when several processes ingest; `stats` lets a
    supervisor keep its counters across restarts of the ingest."""
    inbox = Inbox(maxsize=settings.ingest_queue_size)
    stats = stats or IngestStats()
    deferred = getattr(settings, "rollups_deferred", True)
    writer = BatchWriter(dsn, settings.timezone, inbox, settings.ingest_batch_size, settings.ingest_flush_ms, stats,
                         settings.late_data_days, rollups=ROLLUPS_DEFERRED if deferred else ROLLUPS_INLINE)
    writer.start()
    rollups = RollupWorker(dsn, settings.timezone, pass_interval=settings.rollup_pass_ms / 1000) if deferred else None
    if rollups is not None:
        rollups.start()
    tls_files = {"ca": settings.mqtt_ca_file, "cert": settings.mqtt_cert_file, "key": settings.mqtt_key_file}
    status = None
    if settings.mqtt_status_topic:
        status = StatusRecorder(dsn, queue.Queue(maxsize=RECEIVE_MAXIMUM),
                                timedelta(minutes=settings.flap_window_minutes))
        status.start()
    topic, stale = ingest_filters(settings)
    subscriber = Subscriber(BrokerAddress.from_url(mqtt_url), topic, slot_client_id(settings.mqtt_client_id, slot),
                            settings.mqtt_protocol, inbox, tls_files, settings.mqtt_status_topic,
                            status.inbox if status else None, stats=stats, unsubscribe=stale)
    subscriber.start()
    return IngestHandle(subscriber, writer, stats, inbox, status, rollups)
