"""Which processes ingest: each claims a numbered slot with a PostgreSQL advisory lock.

Several app processes (gunicorn workers, dynos) may run; TDS_INGEST_SLOTS of them ingest. A slot is a
stable MQTT client id (`tds-ingest`, `tds-ingest-1`, ...) with a persistent session; with more than one
slot every session subscribes to the same shared subscription, so the broker splits the stream.

Why slots and not one random client id per process: mosquitto 2.0.11 keeps routing a shared
subscription's messages to a member whose persistent session is offline, and redelivers them (and the
ones that member had not acknowledged) only to the same client id (checked). So a process that dies
must be replaced by one that takes over its client id; the lock makes that happen and guarantees that
two processes never connect with the same id (the broker would make them kick each other off).
Processes without a free slot stand by and take over a slot within STANDBY_POLL_SECONDS of its holder dying.
"""
from __future__ import annotations

import logging
import os
import threading

import psycopg

from ingest.service import start_ingest
from ingest.stats import IngestStats

log = logging.getLogger(__name__)

STANDBY_POLL_SECONDS = 5.0
HOLDER_CHECK_SECONDS = 1.0  # the holder re-checks (and after a database restart re-takes) its lock this often


class SlotLock:
    """A session-level advisory lock (key: the client id's hash, slot) on a dedicated connection."""

    def __init__(self, dsn: str, base_client_id: str) -> None:
        self.dsn = dsn
        self.base = base_client_id
        self.conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            # The pid in the name tells operators (and tests) which process holds which slot.
            self.conn = psycopg.connect(self.dsn, autocommit=True, application_name=f"tds-ingest-slot {os.getpid()}",
                                        connect_timeout=5)
        return self.conn

    def try_lock(self, slot: int) -> bool:
        row = self._connection().execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", (self.base, slot))
        return bool(row.fetchone()[0])

    def claim(self, slots: int) -> int | None:
        """The lowest free slot, locked; None when all are held by other processes."""
        for slot in range(slots):
            if self.try_lock(slot):
                return slot
        return None

    def still_held(self, slot: int) -> bool | None:
        """True if we hold it (re-taken after a database restart), False if another process took it,
        None when the database cannot be reached (we cannot know; keep going)."""
        try:
            conn = self._connection()
            held = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND objsubid = 2 AND classid::int = hashtext(%s) AND objid::int = %s AND granted)", (self.base, slot)).fetchone()[0]
            return True if held else self.try_lock(slot)
        except psycopg.OperationalError:
            self.close()
            return None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()  # ends the session: PostgreSQL releases its advisory locks
            except psycopg.Error:
                pass
            self.conn = None


class IngestSupervisor(threading.Thread):
    """Claims a slot, runs start_ingest() while it holds it, stands by otherwise. `.stop()` drains."""

    def __init__(self, settings, dsn: str, mqtt_url: str, start=None) -> None:
        super().__init__(name="tds-ingest-supervisor", daemon=True)
        self.settings, self.dsn, self.mqtt_url = settings, dsn, mqtt_url
        self.start_ingest = start or start_ingest
        self.lock = SlotLock(dsn, settings.mqtt_client_id)
        self.stats = IngestStats()  # one set of counters for the process, across slot changes
        self.slot: int | None = None
        self.handle = None
        self.stopping = threading.Event()
        self.state_lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.stopping.is_set():
            return "stopped"
        return "ingesting" if self.handle is not None else "standby"

    def run(self) -> None:
        while not self.stopping.is_set():
            wait = HOLDER_CHECK_SECONDS
            try:
                if self.handle is None:
                    self._try_to_start()
                    wait = STANDBY_POLL_SECONDS if self.handle is None else HOLDER_CHECK_SECONDS
                else:
                    self._check_slot()
            except Exception:  # this thread is what keeps a slot served: it must outlive any one failure
                log.exception("ingest supervisor: unexpected error; retrying")
                self._stop_handle()  # never ingest without holding the slot's lock
                self.lock.close()
                wait = STANDBY_POLL_SECONDS
            self.stopping.wait(wait)
        self.lock.close()

    def _try_to_start(self) -> None:
        try:
            slot = self.lock.claim(self.settings.ingest_slots)
        except psycopg.Error as error:
            log.warning("cannot claim an ingest slot yet: %s", error)
            self.lock.close()
            return
        if slot is None:
            log.info("all %s ingest slot(s) are held by other processes; standing by", self.settings.ingest_slots)
            return
        with self.state_lock:
            if self.stopping.is_set():
                return
            self.slot = slot
            self.handle = self.start_ingest(self.settings, self.dsn, self.mqtt_url, slot=slot, stats=self.stats)
        log.info("ingesting in slot %s of %s", slot, self.settings.ingest_slots)

    def _check_slot(self) -> None:
        if self.lock.still_held(self.slot) is not False:
            return
        log.warning("ingest slot %s was taken by another process (database restart?); standing by", self.slot)
        self._stop_handle()

    def _stop_handle(self, timeout: float = 10.0) -> None:
        with self.state_lock:
            handle, self.handle, self.slot = self.handle, None, None
        if handle is not None:
            handle.stop(timeout)

    def current(self):
        """The running IngestHandle, or None while standing by."""
        return self.handle

    def stop(self, timeout: float = 10.0) -> None:
        """Stop ingesting (flush, acknowledge, disconnect), then release the slot."""
        with self.state_lock:
            self.stopping.set()
        self._stop_handle(timeout)
        self.join(HOLDER_CHECK_SECONDS + STANDBY_POLL_SECONDS)
        self.lock.close()
