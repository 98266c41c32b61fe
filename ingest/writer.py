"""The one thread that writes telemetry: batches envelopes, commits, then acknowledges them."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import psycopg

from ingest import statements
from ingest.batch import ROLLUPS_INLINE, BatchStore
from ingest.inbox import STOP, Envelope
from ingest.stats import IngestStats, process_name

log = logging.getLogger(__name__)


class BatchWriter(threading.Thread):
    """Owns one connection; flushes by size or age; keeps the batch and retries on database errors."""

    def __init__(self, dsn: str, timezone_name: str, inbox: "queue.Queue", batch_size: int = 5000,
                 flush_ms: int = 0, stats: IngestStats | None = None, late_data_days: int = 7,
                 rollups: str = ROLLUPS_INLINE) -> None:
        super().__init__(name="tds-ingest-writer", daemon=True)
        self.dsn = dsn
        self.inbox = inbox
        self.batch_size = batch_size
        self.flush_seconds = flush_ms / 1000
        self.stats = stats or IngestStats()
        self.batch_store = BatchStore(timezone_name, late_data_days, rollups)
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
            elif self.batch_store.gateway_carry:
                self._flush_gateway_carry()  # idle: the rows another transaction held are free by now
            self._flush_minutes(final=stopping)
        if self.batch_store.gateway_carry and not self.abandon.is_set():
            self._flush_gateway_carry()
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
            statements.prepare_session(self.conn)
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
                # A carried gateway update may be what fails (seq_gaps past bigint): it must not fail every
                # later batch too. Lost with it: a last-seen time the retried messages write again.
                self.batch_store.gateway_carry = {}
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
        statements.insert_rejected(conn, [row])
        conn.commit()
        self.stats.note_failed("store_error", self._acknowledge([env]))

    @staticmethod
    def _acknowledge(batch: list[Envelope]) -> int:
        """PUBACK each message, one write per subscriber for the whole batch; returns how many were sent (a
        message from a dropped connection is not)."""
        sent = 0
        grouped: dict[int, tuple[object, list]] = {}
        for env in batch:
            ack = env.ack
            if ack is None:
                continue
            owner = getattr(ack, "owner", None)
            if owner is None:
                sent += ack() is not False
            else:
                grouped.setdefault(id(owner), (owner, []))[1].append(ack)
        for owner, acks in grouped.values():
            sent += owner.ack_many(acks)
        return sent

    def _flush_gateway_carry(self) -> None:
        """Write the gateway updates the last batches skipped (rows held elsewhere), waiting for the rows."""
        try:
            conn = self._connect()
            self.batch_store.flush_gateway_carry(conn)
            conn.commit()
        except psycopg.Error as error:
            log.warning("could not record gateways' last messages: %s", error)
            self.batch_store.forget_cache()  # the carry stands for the next try
            if self.conn is not None:
                self.conn.close()

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
            statements.upsert_ingest_minutes(conn, self.process, minutes)
            conn.commit()
        except psycopg.Error as error:
            log.warning("could not record ingest figures: %s", error)
            self.stats.put_back_minutes(minutes)
            if self.conn is not None:
                self.conn.close()  # the next batch reconnects; a half-failed transaction must not linger

    def _note_error(self, text: str) -> None:
        log.warning(text)
        self.stats.note_error(text)
