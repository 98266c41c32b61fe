"""The rollup pass yields the CPU to the commit path: its thread and its local backend run at a lower
priority (ingest.priority), and no process is reniced that is not the connection's own backend."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ingest import priority
from ingest.rollups import RollupWorker
from tds_dash.settings import SettingsError, load_settings
from tests.helpers import publish, telemetry, topic, wait_until
from tests.rollup_check import Backend, provision


def nice_of(pid: int) -> int:
    """Field 19 of /proc/<pid>/stat (the kernel's own record, not the call under test)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat_file:
        stat = stat_file.read()
    return int(stat[stat.rfind(")") + 2:].split()[16])


def backend_pid_of(database, application_name: str) -> int | None:
    return database.scalar("SELECT max(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,))


def test_rpr001_the_worker_lowers_its_thread_and_its_local_backend(database):
    worker = RollupWorker(database.dsn, "America/Sao_Paulo", nice=7)
    worker.start()
    try:
        wait_until(lambda: worker.conn is not None and worker.native_id is not None, message="worker connected")
        pid = worker.conn.info.backend_pid
        assert worker.backend_reniced
        assert nice_of(pid) == 7
        assert nice_of(worker.native_id) == 7  # the worker's own thread (Linux: per thread)
        assert nice_of(threading.get_native_id()) == 0  # not the rest of the process
    finally:
        worker.stop()


def test_rpr002_nice_zero_leaves_every_priority_alone(database):
    worker = RollupWorker(database.dsn, "America/Sao_Paulo")
    worker.start()
    try:
        wait_until(lambda: worker.conn is not None and worker.native_id is not None, message="worker connected")
        assert not worker.backend_reniced
        assert nice_of(worker.conn.info.backend_pid) == 0 and nice_of(worker.native_id) == 0
    finally:
        worker.stop()


def test_rpr003_only_the_connections_own_backend_counts_as_local(database):
    with psycopg.connect(database.dsn) as conn:
        pid = conn.info.backend_pid
        started = conn.execute("SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()[0]
        assert priority.is_local_backend(pid, started)
        # A remote server's pid may name any local process: a postgres process of another start time
        # (the backend's pid with the start shifted), a process that is not postgres, no process at all.
        assert not priority.is_local_backend(pid, started - timedelta(hours=1))
        assert not priority.is_local_backend(os.getpid(), datetime.now(timezone.utc))
        assert not priority.is_local_backend(2 ** 22 + 12345, started)
        assert nice_of(pid) == 0


@pytest.mark.parametrize("value", ["-1", "20", "low"])
def test_rpr004_a_bad_nice_value_is_refused_at_start_with_its_name(value):
    with pytest.raises(SettingsError, match="TDS_ROLLUP_NICE"):
        load_settings({"DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x", "TDS_ROLLUP_NICE": value})


def test_rpr005_the_live_ingest_runs_its_rollup_pass_at_the_configured_priority(database, mosquitto, ingest):
    Backend("postgres", database).cut_in("America/Sao_Paulo")
    slug, serial = provision(database)
    handle = ingest(TDS_ROLLUP_NICE="5")
    publish(mosquitto, [(topic(slug, serial), telemetry([{"device": "MED-001", "metric": "energy_kwh", "value": 1.0}],
                                                        at=datetime(2025, 6, 1, 13, tzinfo=timezone.utc), seq=1))])
    wait_until(lambda: handle.rollups.keys_merged >= 1, message="the reading merged")
    assert nice_of(handle.rollups.conn.info.backend_pid) == 5
    writer_pid = backend_pid_of(database, "tds-ingest-writer")
    assert writer_pid is not None and nice_of(writer_pid) == 0  # the commit path keeps its priority
