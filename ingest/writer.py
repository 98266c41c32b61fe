"""The one thread that writes telemetry: batches envelopes, commits, then acknowledges them."""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import psycopg

from ingest import store
from ingest.payload import Rejection, TelemetryMessage
from ingest.stats import IngestStats, process_name  # noqa: F401 (IngestStats is imported from here too)

log = logging.getLogger(__name__)

STOP = object()  # sentinel: flush what is queued, then end the thread


@dataclasses.dataclass
class Envelope:
    """One received MQTT message on its way to the database."""

    topic: str
    payload: bytes
    received_at: datetime
    message: TelemetryMessage | None = None
    rejection: Rejection | None = None
    ack: Callable[[], bool] | None = None  # sends the PUBACK; called only after commit
    payload_size: int | None = None  # size received, when `payload` was cut to the excerpt kept for rejections

    @property
    def size(self) -> int:
        return len(self.message.readings) if self.message else 1


@dataclasses.dataclass
class BatchResult:
    stored: int
    duplicates: int
    rejected: list[store.RejectedRow]
    seq_gaps: int = 0


class BatchStore:
    """Turns a batch of envelopes into rows and writes them in one transaction."""

    def __init__(self, timezone_name: str, late_data_days: int = 7) -> None:
        self.timezone = timezone_name
        self.late_window = timedelta(days=late_data_days)
        self.metric_ids: dict[str, int] = {}
        # Per write(): envelope id -> readings the fleet checks refused, as (reason, detail).
        self._dropped: dict[int, list[tuple[str, str]]] = {}

    def forget_cache(self) -> None:
        """After a rollback: ids learned in that transaction may not exist."""
        self.metric_ids = {}

    def write(self, conn: psycopg.Connection, batch: list[Envelope]) -> BatchResult:
        rejected: list[store.RejectedRow] = []
        self._dropped = {}
        accepted = [env for env in batch if not self._rejected_early(env, rejected)]
        serials = sorted({env.message.gateway for env in accepted})
        gateways = store.fetch_gateways(conn, serials) if serials else {}
        ready = [env for env in accepted if not self._rejected_by_fleet(env, gateways, rejected)]
        rows = self._rows(conn, ready, gateways)
        keys = store.insert_readings(conn, rows) if rows else []
        store.refresh_rollups(conn, keys, self.timezone)
        updates = self._gateway_updates(ready, gateways)
        store.update_gateways(conn, updates)
        inserted = sum(key[3] for key in keys)
        self._note_partial(ready, rejected)
        store.insert_rejected(conn, rejected)
        return BatchResult(stored=inserted, duplicates=len(rows) - inserted, rejected=rejected,
                           seq_gaps=sum(update[3] for update in updates))

    @staticmethod
    def _rejection_row(env: Envelope, reason: str, detail: str, rejected_count: int, accepted: int = 0):
        account = gateway = None
        parts = env.topic.split("/")
        if len(parts) == 4:
            account, gateway = parts[1][:64], parts[2][:64]
        return store.RejectedRow(env.received_at, env.topic, reason, detail, account, gateway,
                                 rejected_count, accepted, env.payload, env.payload_size)

    def _rejected_early(self, env: Envelope, rejected: list) -> bool:
        if env.rejection is None:
            return False
        rejected.append(self._rejection_row(env, env.rejection.reason, env.rejection.detail, 0))
        return True

    def _rejected_by_fleet(self, env: Envelope, gateways: dict, rejected: list) -> bool:
        msg = env.message
        gateway = gateways.get(msg.gateway)
        reason = None
        if gateway is None:
            reason, detail = "unknown_gateway", f"no gateway with serial {msg.gateway!r}"
        elif gateway.account_slug != msg.account:
            reason, detail = "account_mismatch", f"gateway {msg.gateway!r} does not belong to account {msg.account!r}"
        elif not gateway.active:
            reason, detail = "inactive_gateway", f"gateway {msg.gateway!r} is deactivated"
        if reason is None:
            return False
        rejected.append(self._rejection_row(env, reason, detail, len(msg.readings) + len(msg.problems)))
        return True

    def _rows(self, conn: psycopg.Connection, ready: list[Envelope], gateways: dict) -> list[tuple]:
        if not ready:
            return []
        self._ensure_metrics(conn, {r.metric for env in ready for r in env.message.readings})
        gateway_ids = [gateways[env.message.gateway].id for env in ready]
        devices = store.fetch_devices(conn, sorted(set(gateway_ids)))
        # Unknown codes become devices unless the account turned auto-provisioning off (then unknown_device).
        missing = {(gateways[env.message.gateway].id, gateways[env.message.gateway].account_id, r.device)
                   for env in ready for r in env.message.readings
                   if (gateways[env.message.gateway].id, r.device) not in devices
                   and gateways[env.message.gateway].auto_provision}
        if missing:
            store.create_devices(conn, sorted(missing))
            devices = store.fetch_devices(conn, sorted(set(gateway_ids)))
        rows, owners = [], []
        for env in ready:
            gateway = gateways[env.message.gateway]
            for r in env.message.readings:
                if (gateway.id, r.device) not in devices:
                    self._drop(env, "unknown_device", f"device {r.device!r} is not registered and auto-provisioning"
                                                      f" is off for account {gateway.account_slug!r}")
                    continue
                device_id, active = devices[(gateway.id, r.device)]
                if not active:
                    self._drop(env, "inactive_device", f"device {r.device!r} is deactivated")
                    continue
                rows.append((device_id, self.metric_ids[r.metric], r.ts, r.value,
                             gateway.account_id, gateway.id, env.received_at))
                owners.append(env)
        return self._without_too_late(conn, rows, owners)

    def _without_too_late(self, conn: psycopg.Connection, rows: list[tuple], owners: list[Envelope]) -> list[tuple]:
        """Refuse readings older than the late-data window before their key's newest stored reading.

        A backlog uploaded in order after days offline is newer than what is stored, so it passes."""
        newest = store.fetch_newest_readings(conn, sorted({(row[0], row[1]) for row in rows}))
        kept = []
        for row, env in zip(rows, owners):
            limit = newest.get((row[0], row[1]))
            if limit is not None and row[2] < limit - self.late_window:
                self._drop(env, "too_late", f"{row[2].isoformat()} is more than {self.late_window.days} days"
                                            f" before the newest stored reading {limit.isoformat()}")
            else:
                kept.append(row)
        return kept

    def _drop(self, env: Envelope, reason: str, detail: str) -> None:
        self._dropped.setdefault(id(env), []).append((reason, detail))

    def _ensure_metrics(self, conn: psycopg.Connection, names: set[str]) -> None:
        if names - self.metric_ids.keys():
            self.metric_ids = store.fetch_metrics(conn)
        unknown = names - self.metric_ids.keys()
        if unknown:
            store.create_metrics(conn, sorted(unknown))
            self.metric_ids = store.fetch_metrics(conn)

    @staticmethod
    def _gateway_updates(ready: list[Envelope], gateways: dict) -> list[tuple]:
        updates: dict[int, list] = {}
        for env in ready:
            gateway = gateways[env.message.gateway]
            entry = updates.setdefault(gateway.id, [env.received_at, gateway.last_seq, 0])
            entry[0] = max(entry[0], env.received_at)
            entry[1], gaps = next_sequence(entry[1], env.message.seq)
            entry[2] += gaps
        return [(gateway_id, seen, seq, gaps) for gateway_id, (seen, seq, gaps) in updates.items()]

    def _note_partial(self, ready: list[Envelope], rejected: list) -> None:
        """One rejected_messages row per message that lost some readings; the others were stored."""
        for env in ready:
            problems = [(f"readings[{p.index}] {p.reason}", p.detail, p.reason) for p in env.message.problems]
            problems += [(reason, detail, reason) for reason, detail in self._dropped.get(id(env), [])]
            if not problems:
                continue
            detail = "; ".join(f"{where}: {text}" for where, text, _ in problems[:20])
            dropped = len(problems) - len(env.message.problems)
            rejected.append(self._rejection_row(env, problems[0][2], detail, len(problems),
                                                len(env.message.readings) - dropped))


MAX_PLAUSIBLE_GAP = 1_000_000  # a bigger jump is a gateway resetting its counter, not lost messages


def next_sequence(last: int | None, seq: int | None) -> tuple[int | None, int]:
    """(new last seq, messages missing). A lower seq is a redelivery unless far lower (a gateway restart)."""
    if seq is None:
        return last, 0
    if last is None or seq > last:
        gap = (seq - last - 1) if last is not None else 0
        return seq, gap if gap <= MAX_PLAUSIBLE_GAP else 0
    if seq == 0 or last - seq > 1000:
        return seq, 0
    return last, 0


class BatchWriter(threading.Thread):
    """Owns one connection; flushes by size or age; keeps the batch and retries on database errors."""

    def __init__(self, dsn: str, timezone_name: str, inbox: "queue.Queue", batch_size: int = 5000,
                 flush_ms: int = 0, stats: IngestStats | None = None, late_data_days: int = 7) -> None:
        super().__init__(name="tds-ingest-writer", daemon=True)
        self.dsn = dsn
        self.inbox = inbox
        self.batch_size = batch_size
        self.flush_seconds = flush_ms / 1000
        self.stats = stats or IngestStats()
        self.batch_store = BatchStore(timezone_name, late_data_days)
        self.conn: psycopg.Connection | None = None
        self.connected = threading.Event()
        # Set by IngestHandle.stop() when the database stays unreachable past the stop timeout: give up
        # the batch unacknowledged (the broker keeps it for the next session) instead of hanging.
        self.abandon = threading.Event()
        self.process = process_name()
        self._last_minute_flush = time.monotonic()
        # Observers of committed batches (metrics, benchmarks): called in this thread after commit.
        self.on_commit: list[Callable[[list[Envelope], datetime], None]] = []

    def run(self) -> None:
        stopping = False
        while not stopping and not self.abandon.is_set():
            batch, stopping = self._collect()
            if batch:
                self._write_with_retry(batch)
            self._flush_minutes(final=stopping)
        if self.conn is not None:
            self.conn.close()

    def _collect(self) -> tuple[list[Envelope], bool]:
        """Block for one envelope, then take what is already queued (greedy batching): an idle writer
        commits at once, a busy one builds big batches while its previous commit runs. flush_ms adds an
        optional linger to grow small batches."""
        try:
            first = self.inbox.get(timeout=0.5)
        except queue.Empty:
            return [], False
        if first is STOP:
            return [], True
        batch, size, deadline = [first], first.size, time.monotonic() + self.flush_seconds
        while size < self.batch_size:
            try:
                remaining = deadline - time.monotonic()
                item = self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait()
            except queue.Empty:
                break
            if item is STOP:
                return batch, True
            batch.append(item)
            size += item.size
        return batch, False

    def _connect(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, application_name="tds-ingest-writer", connect_timeout=10)
            store.prepare_session(self.conn)
            self.connected.set()
        return self.conn

    def _write_with_retry(self, batch: list[Envelope]) -> None:
        self.stats.note_busy(True)
        delay = 0.2
        while True:
            try:
                self._commit(batch)
                return
            except psycopg.OperationalError as error:
                self.batch_store.forget_cache()
                self._note_error(f"database unavailable: {error}".strip())
                self.connected.clear()
                if self.conn is not None:
                    self.conn.close()
                if self.abandon.wait(delay):
                    return
                delay = min(delay * 2, 5.0)
            except psycopg.Error as error:
                # Not a connectivity problem: isolate the message that causes it so the rest is stored.
                self._note_error(f"batch failed, retrying one by one: {error}")
                self.conn.rollback()
                self.batch_store.forget_cache()
                if len(batch) == 1:
                    self._commit_as_failed(batch[0], error)
                    return
                for env in batch:
                    self._write_with_retry([env])
                return

    def _commit(self, batch: list[Envelope]) -> None:
        conn = self._connect()
        started = time.monotonic()
        result = self.batch_store.write(conn, batch)
        conn.commit()
        committed_at = datetime.now(timezone.utc)
        acked = self._acknowledge(batch)
        for observer in self.on_commit:
            observer(batch, committed_at)
        self.stats.note_commit(batch, result, time.monotonic() - started, committed_at, acked)

    def _commit_as_failed(self, env: Envelope, error: Exception) -> None:
        conn = self._connect()
        row = self.batch_store._rejection_row(env, "store_error", str(error)[:500], env.size)
        store.insert_rejected(conn, [row])
        conn.commit()
        self.stats.note_failed("store_error", self._acknowledge([env]))

    @staticmethod
    def _acknowledge(batch: list[Envelope]) -> int:
        """PUBACK each message; returns how many were sent (a message from a dropped connection is not)."""
        sent = 0
        for env in batch:
            if env.ack is not None and env.ack() is not False:
                sent += 1
        return sent

    def _flush_minutes(self, final: bool = False) -> None:
        """Write ended minutes to ingest_minutes about once a minute (and everything when stopping).

        Best effort: figures never hold up readings, so a failure keeps them in memory for the next try."""
        if not final and time.monotonic() - self._last_minute_flush < 5:
            return
        self._last_minute_flush = time.monotonic()
        minutes = self.stats.take_closed_minutes(datetime.now(timezone.utc), include_current=final)
        if not minutes:
            return
        try:
            conn = self._connect()
            store.upsert_ingest_minutes(conn, self.process, minutes)
            conn.commit()
        except psycopg.Error as error:
            log.warning("could not record ingest figures: %s", error)
            self.stats.put_back_minutes(minutes)
            if self.conn is not None:
                self.conn.close()  # the next batch reconnects; a half-failed transaction must not linger

    def _note_error(self, text: str) -> None:
        log.warning(text)
        self.stats.note_error(text)
