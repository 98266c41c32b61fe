"""Pieces shared by the ingest benchmarks: databases from a migrated template, a provisioned bench fleet, the
publisher and the app as subprocesses, RSS sampling and row counting. Loopback only; every wait is bounded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def with_dbname(dsn: str, name: str) -> str:
    head, _, tail = dsn.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + ("?" + tail if tail else "")


class Databases:
    """Fresh databases on one server, each a copy of a migrated template (seconds saved per scenario)."""

    def __init__(self, admin_dsn: str) -> None:
        from tds_dash.migrate import apply_migrations, ensure_rollup_timezone

        self.admin_dsn = admin_dsn
        self.template = "bench_template"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        dsn = with_dbname(admin_dsn, self.template)
        apply_migrations(dsn)
        ensure_rollup_timezone(dsn, "America/Sao_Paulo")

    def fresh(self, gateways: int, readings: int, prefix: str = "B") -> str:
        """A new database with account 'bench', gateways <prefix>-0001.. and devices MED-001.. on each."""
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        dsn = with_dbname(self.admin_dsn, name)
        with psycopg.connect(dsn) as conn:
            account = conn.execute("INSERT INTO accounts (slug, name) VALUES ('bench', 'Bench') RETURNING id").fetchone()[0]
            conn.execute("INSERT INTO gateways (account_id, serial, name) SELECT %s, %s || '-' || lpad(g::text, 4, '0'),"
                         " 'bench' FROM generate_series(1, %s) g", (account, prefix, gateways))
            conn.execute("INSERT INTO devices (gateway_id, account_id, code, name) SELECT g.id, g.account_id,"
                         " 'MED-' || lpad(d::text, 3, '0'), 'bench' FROM gateways g, generate_series(1, %s) d",
                         (readings,))
        return dsn


def count_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM readings").fetchone()[0]


def watch_rows(dsn: str, expected: int, timeout: float, interval: float = 0.5) -> list[tuple[float, int]]:
    """(monotonic time, row count) every `interval` until `expected` rows or `timeout` s without progress."""
    timeline: list[tuple[float, int]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        last_progress = time.monotonic()
        while True:
            rows = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            now = time.monotonic()
            if not timeline or rows > timeline[-1][1]:
                last_progress = now
            timeline.append((now, rows))
            if rows >= expected or now - last_progress > timeout:
                return timeline
            time.sleep(interval)


def sustained_rate(timeline: list[tuple[float, int]]) -> float:
    """Rows/s from the first sample with rows to the first sample with the final count (start-up excluded)."""
    final = timeline[-1][1]
    start = next(((t, n) for t, n in timeline if n > 0), None)
    end = next(((t, n) for t, n in timeline if n == final), None)
    if start is None or end is None or end[0] <= start[0]:
        return float("nan")
    return (end[1] - start[1]) / (end[0] - start[0])


def create_session(port: int, client_id: str, topic_filter: str) -> None:
    """A persistent subscriber session made before the app starts: nothing published meanwhile is lost."""
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *args: done.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=True, properties=properties)
    client.loop_start()
    client.subscribe(topic_filter, qos=1)
    done.wait(5)
    client.disconnect()
    client.loop_stop()


def start_publisher(port: int, count: int, readings: int, gateways: int, rate: float = 0.0,
                    prefix: str = "B", deadline: float = 300.0) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, str(ROOT / "bench" / "publisher.py"), "--port", str(port), "--count", str(count),
                             "--readings", str(readings), "--gateways", str(gateways), "--rate", str(rate),
                             "--prefix", prefix, "--deadline", str(deadline)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)


def publisher_result(process: subprocess.Popen, timeout: float = 330.0) -> dict:
    out, _ = process.communicate(timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


class RssSampler(threading.Thread):
    """Peak and timeline of a process's resident memory (MB), sampled every 0.2 s until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss / 2**20))
            except psutil.Error:
                return
            self.stopped.wait(0.2)

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=float("nan"))

    def at_fraction(self, fraction: float) -> float:
        """RSS at a fraction of the sampled period (to show it stays flat while a backlog drains)."""
        if not self.samples:
            return float("nan")
        return self.samples[min(len(self.samples) - 1, int(fraction * len(self.samples)))][1]


def start_app(command: str, env: dict, log_path: Path) -> subprocess.Popen:
    """`python -m tds_dash <command>` (run: the whole app; ingest: ingest only) with a clean TDS_* environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "MQTT_URL"))}
    full_env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env})
    return subprocess.Popen([PYTHON, "-m", "tds_dash", command], env=full_env, cwd=ROOT,
                            stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(process: subprocess.Popen, timeout: float = 20.0) -> float:
    """SIGTERM and wait; returns the seconds it took (killed after `timeout`)."""
    began = time.monotonic()
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    return time.monotonic() - began


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())
