"""What one ingest process measures: counters, histograms and per-minute figures for the Ingest page.

The writer thread records commits, the paho network thread records receptions; readers (/metrics,
/api/health) take snapshots under the lock. Per-minute figures are kept only until the writer flushes
them to the ingest_minutes table (durable, summed over processes by the Ingest page), so memory stays
bounded whatever the uptime.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from prometheus_client import Histogram

BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000)
COMMIT_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
DELAY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400)
SLOWEST_PER_MINUTE = 10  # gateways kept per minute and process for "slowest gateways"
MAX_PENDING_MINUTES = 180  # minutes kept while the database is unreachable; older ones are dropped


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclasses.dataclass
class Minute:
    """Figures of one process for one UTC minute."""

    minute: datetime
    received: int = 0
    messages: int = 0
    acknowledged: int = 0
    readings_stored: int = 0
    readings_duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    commit_ms_sum: float = 0.0
    commit_ms_max: float = 0.0
    batch_readings_max: int = 0
    queue_depth_max: int = 0
    seq_gaps: int = 0
    # gateway serial -> [messages, delay ms sum, delay ms max]; delay = commit time - message ts
    gateways: dict = dataclasses.field(default_factory=dict)

    def slowest(self) -> list[dict]:
        ranked = sorted(self.gateways.items(), key=lambda item: item[1][2], reverse=True)[:SLOWEST_PER_MINUTE]
        return [{"gateway": serial, "messages": n, "delay_ms_sum": round(total, 1), "delay_ms_max": round(top, 1)}
                for serial, (n, total, top) in ranked]


def _minute_of(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(second=0, microsecond=0)


class IngestStats:
    """Counters owned by the writer thread (and the subscriber for receptions); others read snapshots."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.messages = 0  # committed: stored, or recorded as rejected
        self.acknowledged = 0
        self.readings_stored = 0
        self.readings_duplicate = 0
        self.seq_gaps = 0
        self.batches = 0
        self.rejections: Counter[str] = Counter()
        self.last_commit_at: datetime | None = None
        self.last_error: str | None = None
        self.queue_high_water = 0  # in weight (readings + 1 per message, see ingest.inbox): what is bounded
        self.busy_since: float | None = None  # monotonic time the writer took a batch it has not committed yet
        self.batch_readings = Histogram("tds_ingest_batch_readings", "Readings per committed batch.",
                                        buckets=BATCH_BUCKETS, registry=None)
        self.commit_seconds = Histogram("tds_ingest_commit_seconds", "Time to write and commit one batch.",
                                        buckets=COMMIT_BUCKETS, registry=None)
        self.delivery_seconds = Histogram("tds_ingest_delivery_delay_seconds",
                                          "Commit time minus the message's own ts (gateway clock).",
                                          buckets=DELAY_BUCKETS, registry=None)
        self._minutes: dict[datetime, Minute] = {}
        self._current: tuple[datetime, datetime, Minute] | None = None  # (start, end, entry) of the last minute used

    def _minute(self, at: datetime) -> Minute:
        current = self._current
        if current is not None and current[0] <= at < current[1] and self._minutes.get(current[0]) is current[2]:
            return current[2]  # most calls fall in the minute of the previous one: skip the rounding
        key = _minute_of(at)
        entry = self._minutes.get(key)
        if entry is None:
            entry = self._minutes[key] = Minute(key)
        self._current = (key, key + timedelta(minutes=1), entry)
        return entry

    def note_received(self, depth: int, weight: int, at: datetime) -> None:
        """Called by the paho thread after handing a message over: queue depth in messages and in weight."""
        with self.lock:
            self.received += 1
            self.queue_high_water = max(self.queue_high_water, weight)
            minute = self._minute(at)
            minute.received += 1
            minute.queue_depth_max = max(minute.queue_depth_max, depth)

    def note_busy(self, busy: bool) -> None:
        with self.lock:
            self.busy_since = (self.busy_since or time.monotonic()) if busy else None

    def note_commit(self, batch: list, result, seconds: float, committed_at: datetime, acked: int) -> None:
        """One committed batch: `result` is the writer's BatchResult."""
        readings = sum(env.size for env in batch)
        self.batch_readings.observe(readings)
        self.commit_seconds.observe(seconds)
        delays = self._delays(batch, committed_at)
        for _serial, delay in delays:
            self.delivery_seconds.observe(delay)
        with self.lock:
            self.batches += 1
            self.messages += len(batch)
            self.acknowledged += acked
            self.readings_stored += result.stored
            self.readings_duplicate += result.duplicates
            self.seq_gaps += result.seq_gaps
            self.rejections.update(row.reason for row in result.rejected)
            self.last_commit_at = committed_at
            self.last_error = None
            self.busy_since = None
            self._minute_commit(batch, result, seconds, committed_at, acked, readings, delays)

    def _minute_commit(self, batch, result, seconds, committed_at, acked, readings, delays) -> None:
        minute = self._minute(committed_at)
        minute.batches += 1
        minute.messages += len(batch)
        minute.acknowledged += acked
        minute.readings_stored += result.stored
        minute.readings_duplicate += result.duplicates
        minute.rejected += len(result.rejected)
        minute.seq_gaps += result.seq_gaps
        minute.commit_ms_sum += seconds * 1000
        minute.commit_ms_max = max(minute.commit_ms_max, seconds * 1000)
        minute.batch_readings_max = max(minute.batch_readings_max, readings)
        for serial, delay in delays:
            entry = minute.gateways.setdefault(serial, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += delay * 1000
            entry[2] = max(entry[2], delay * 1000)

    @staticmethod
    def _delays(batch: list, committed_at: datetime) -> list[tuple[str, float]]:
        return [(env.message.gateway, max(0.0, (committed_at - env.message.sent_at).total_seconds()))
                for env in batch if env.message is not None]

    def note_failed(self, reason: str, acked: int) -> None:
        with self.lock:
            self.messages += 1
            self.acknowledged += acked
            self.rejections[reason] += 1
            self.busy_since = None
            minute = self._minute(datetime.now(timezone.utc))
            minute.messages += 1
            minute.acknowledged += acked
            minute.rejected += 1

    def note_error(self, text: str) -> None:
        with self.lock:
            self.last_error = text

    def take_closed_minutes(self, now: datetime, include_current: bool = False) -> list[Minute]:
        """Remove and return the minutes that ended (all of them when stopping), oldest first."""
        current = _minute_of(now)
        with self.lock:
            closed = sorted(key for key in self._minutes if include_current or key < current)
            return [self._minutes.pop(key) for key in closed]

    def put_back_minutes(self, minutes: list[Minute]) -> None:
        """The flush failed: keep them for the next try, but never more than MAX_PENDING_MINUTES."""
        with self.lock:
            for entry in minutes:
                self._minutes.setdefault(entry.minute, entry)
            while len(self._minutes) > MAX_PENDING_MINUTES:
                del self._minutes[min(self._minutes)]

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "received": self.received,
                "messages": self.messages,
                "acknowledged": self.acknowledged,
                "readings_stored": self.readings_stored,
                "readings_duplicate": self.readings_duplicate,
                "seq_gaps": self.seq_gaps,
                "batches": self.batches,
                "rejections": dict(self.rejections),
                "last_commit_at": self.last_commit_at,
                "last_error": self.last_error,
                "queue_high_water": self.queue_high_water,
                "busy_seconds": (time.monotonic() - self.busy_since) if self.busy_since is not None else None,
            }
