"""Shared pieces of the benchmark scripts: a private PostgreSQL and Mosquitto, machine facts."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.node()} · {cpu} · {psutil.cpu_count()} cores · "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB · Python {platform.python_version()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mosquitto:
    """Debian's mosquitto on a free loopback port, with an in-flight window for ack-after-commit."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tds-bench-mqtt-"))
        self.port = free_port()
        (self.dir / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_inflight_messages 20000\nmax_queued_messages 1000000\n")
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(self.dir / "mosquitto.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclasses.dataclass
class BenchServices:
    """What a benchmark runs against: a fresh PostgreSQL and (optionally) a fresh Mosquitto."""

    server: object
    dsn: str
    url: str
    mosquitto: Mosquitto | None


@contextlib.contextmanager
def bench_services(mqtt: bool = True) -> Iterator[BenchServices]:
    """Start PostgreSQL (and Mosquitto), and always stop both and delete their files, whatever happens."""
    mosquitto = Mosquitto() if mqtt else None
    server, dsn, url, data_dir = None, "", "", None
    try:
        server, dsn, url, data_dir = start_postgres()
        yield BenchServices(server, dsn, url, mosquitto)
    finally:
        if mosquitto is not None:
            mosquitto.stop()
        if server is not None:
            server.stop()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


def start_postgres():
    """A fresh embedded PostgreSQL in a temp dir; returns (server, dsn, sqlalchemy url, dir)."""
    from tds_dash.background.embedded import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="tds-bench-pg-")) / "pg"
    server = EmbeddedPostgres(data_dir)
    return server, server.dsn, server.url, data_dir.parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


os.environ.setdefault("PYTHONHASHSEED", "0")
