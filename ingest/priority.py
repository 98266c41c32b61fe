"""CPU priority of background work: the rollup pass yields the CPU to the commit path on a shared machine.

A rollup pass is throughput work with a two-second budget; a batch commit is on the PUBACK path. On a
machine where the app and PostgreSQL share the cores (the demo, a single-box install, this project's
benchmarks), a long pass competed with the writer's backend for them and set the commit p99
(bench/RESULTS.md, issue 17). Linux schedules each thread and each backend process by its own nice value,
so the worker lowers its own thread's priority and, when its backend runs on this machine, the backend's:
what the pass takes is then the CPU the latency path leaves. The same thing pg_prioritize does with
setpriority(2); nothing changes for a database on another machine.
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone

import psycopg

log = logging.getLogger(__name__)

# A process of this machine counts as the connection's backend only if it is a postgres process that
# started within this many seconds of the backend's own start time (pg_stat_activity.backend_start):
# a remote server's pid can be any local process, which must never be reniced.
START_TOLERANCE_SECONDS = 2.0


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread this nice value (Linux: per thread); a no-op for 0 or where unsupported."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as error:
        log.info("rollup worker keeps its CPU priority: %s", error)


def lower_backend_priority(conn: psycopg.Connection, nice: int) -> bool:
    """Renice the connection's backend process if it runs on this machine; True when it was reniced."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return False
    pid = conn.info.backend_pid
    started = conn.execute("SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
    if started is None or not is_local_backend(pid, started[0]):
        return False
    try:
        if os.getpriority(os.PRIO_PROCESS, pid) < nice:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as error:  # another user's server (EPERM): it keeps its priority
        log.info("rollup worker's database backend keeps its CPU priority: %s", error)
        return False
    return True


def is_local_backend(pid: int, backend_start: datetime) -> bool:
    """Whether local process `pid` is a postgres process started when the backend did (see above)."""
    started = process_start(pid)
    if started is None:
        return False
    command, started_at = started
    return command == "postgres" and abs((started_at - backend_start).total_seconds()) <= START_TOLERANCE_SECONDS


def process_start(pid: int) -> tuple[str, datetime] | None:
    """(command name, start time) of a local process from /proc; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat_file:
            stat = stat_file.read()
        with open("/proc/stat", encoding="ascii") as system_file:
            boot = next(int(line.split()[1]) for line in system_file if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    # comm sits in parentheses and may itself hold spaces or parentheses: the fields follow the last ")".
    command = stat[stat.find("(") + 1:stat.rfind(")")]
    fields = stat[stat.rfind(")") + 2:].split()
    ticks = int(fields[19])  # field 22, starttime, in clock ticks since boot
    return command, datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), timezone.utc)
