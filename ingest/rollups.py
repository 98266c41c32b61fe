"""The rollup worker: merges the keys the writers logged as changed, off the commit path.

A writer commits raw readings and appends the changed (device, metric, from) keys to rollup_log in the
same transaction, then acknowledges; this thread takes the logged rows in passes (folded to once per key
per pass however many batches touched it) and runs the same exact merge the writer used to run per
batch (tds_refresh_rollups: counter consumption, then hourly/daily/monthly). One pass at a time across
processes (an advisory lock): every ingesting process runs a worker, whichever gets the lock does the
pass. A pass is one REPEATABLE READ transaction: the rows it deletes and the readings it merges are
those of one snapshot, and a failed merge rolls back, so its rows stay logged and nothing is lost
(rollup_log's banner in sql/090 has the whole protocol).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime, timezone

import psycopg

from ingest import statements

log = logging.getLogger(__name__)

KEYS_PER_PASS = 20_000  # log rows taken per pass (one per key and batch); bigger passes amortise the per-call cost
IDLE_WAIT_SECONDS = 0.1  # between passes when nothing waits: the lag floor of an idle fleet
# A pass starts at most this often while keys keep coming: back to back, a busy stream got one pass per
# batch, so every key was merged (and its fleet rows and cost stamps rewritten) once per batch; a pass
# every 0.5 s merges several batches' readings per key at once (bench/RESULTS.md). Lag stays < 2 s p99.
PASS_INTERVAL_SECONDS = 0.5
LAG_SAMPLES = 10_000  # recent per-key lags kept for percentiles


class RollupWorker(threading.Thread):
    """Owns one connection; runs passes until stopped, then a last one so a clean stop leaves nothing behind."""

    def __init__(self, dsn: str, timezone_name: str, keys_per_pass: int = KEYS_PER_PASS,
                 idle_wait: float = IDLE_WAIT_SECONDS, pass_interval: float = PASS_INTERVAL_SECONDS) -> None:
        super().__init__(name="tds-rollup-worker", daemon=True)
        self.dsn = dsn
        self.timezone = timezone_name
        self.keys_per_pass = keys_per_pass
        self.idle_wait = idle_wait
        self.pass_interval = pass_interval
        self.lock_missed = False  # the last run_pass found another process's pass running
        self.stopping = threading.Event()
        self.conn: psycopg.Connection | None = None
        self.passes = 0
        self.keys_merged = 0
        self.max_lag_s = 0.0
        self.lags: deque[float] = deque(maxlen=LAG_SAMPLES)  # commit -> merged, per key, seconds
        self.last_error: str | None = None

    def run(self) -> None:
        delay = 0.2
        while True:
            began = time.monotonic()
            try:
                merged = self.run_pass()
                delay = 0.2
            except psycopg.Error as error:
                self._reset(f"rollup pass failed: {error}")
                merged = 0
                if self.stopping.wait(delay):
                    break
                delay = min(delay * 2, 5.0)
                continue
            if self.stopping.is_set() and merged == 0:
                break
            if merged == 0 and self.lock_missed:
                # Another process is running passes: wait a whole interval, or with several processes the
                # passes would follow each other back to back again (bench/RESULTS.md).
                self.stopping.wait(self.pass_interval)
            elif merged == 0:
                self.stopping.wait(self.idle_wait)
            else:
                self.stopping.wait(max(0.0, began + self.pass_interval - time.monotonic()))
        if self.conn is not None:
            self.conn.close()

    def run_pass(self) -> int:
        """Take up to keys_per_pass logged rows, merge their keys in one transaction; the number of keys
        merged (0: none waiting, or another process is running a pass)."""
        conn = self._connect()
        self.lock_missed = not statements.try_rollup_lock(conn)
        if self.lock_missed:
            return 0
        try:
            with conn.transaction():
                # One snapshot for the whole pass (taken by the DELETE): the merge sees the readings of the
                # rows it took and none committed after them, whose keys stay logged for the next pass and
                # then take the appended path, not the late one (bench/RESULTS.md).
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                keys = statements.take_logged_keys(conn, self.keys_per_pass)
                if keys:
                    statements.refresh_rollups(conn, keys, self.timezone)
        finally:
            if not conn.closed:
                statements.release_rollup_lock(conn)
        if keys:
            self._note(keys, datetime.now(timezone.utc))
        return len(keys)

    def drain(self, timeout: float = 30.0) -> int:
        """Run passes until nothing waits (tests, backfills, a clean stop); the number merged."""
        total, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            merged = self.run_pass()
            total += merged
            if merged < self.keys_per_pass and not self._waiting():
                return total
        return total

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.join(timeout)

    def lag_percentile(self, fraction: float) -> float | None:
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else None

    def _waiting(self) -> bool:
        return self._connect().execute("SELECT EXISTS (SELECT 1 FROM rollup_log)").fetchone()[0]

    def _note(self, keys: list[statements.PendingKey], merged_at: datetime) -> None:
        self.passes += 1
        self.keys_merged += len(keys)
        lags = [(merged_at - key.queued_at).total_seconds() for key in keys]
        self.lags.extend(lags)
        self.max_lag_s = max(self.max_lag_s, *lags)

    def _connect(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, application_name="tds-rollup-worker", connect_timeout=10,
                                        autocommit=True)
            self.conn.execute("SET TIME ZONE 'UTC'")
        return self.conn

    def _reset(self, text: str) -> None:
        log.warning(text)
        self.last_error = text
        if self.conn is not None:
            self.conn.close()
        self.conn = None
