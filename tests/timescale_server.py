"""The WASM TimescaleDB test server (tests/timescale/server.mjs) as a process the tests start and stop.

PostgreSQL 17.5 + TimescaleDB 2.23 (with the TSL: continuous aggregates, compression, policies)
compiled to WebAssembly and served over the PostgreSQL wire protocol by pglite-socket. Its limits
shape the tests: ONE client connection at a time (a second one queues until the first closes), one
database, one backend session shared by every connection, no background workers (policies run only
through CALL run_job). `make test` installs its npm packages (scripts/install-test-deps.sh).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import free_port

SERVER_DIR = Path(__file__).resolve().parent / "timescale"
STARTUP_SECONDS = 90  # usually 3-10 s; the 2 cores are shared with other work


class TimescaleServer:
    """`node server.mjs PORT` on 127.0.0.1; `dsn` is what psycopg takes."""

    host = "127.0.0.1"

    def __init__(self, directory: Path) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node not found: tests/test_timescale.py needs Node.js 18+ (run `make test`).")
        if not (SERVER_DIR / "node_modules" / "@electric-sql" / "pglite-socket").is_dir():
            pytest.fail("tests/timescale/node_modules is missing: run `make test`, or "
                        "`npm ci` in tests/timescale (its .npmrc sets the needed flags).")
        self.node = node
        self.log_path = Path(directory) / "timescale-server.log"
        self.port = free_port(self.host)
        self.process: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        # pglite-socket answers the SSL request with an error: ask for none.
        return f"postgresql://postgres:password@{self.host}:{self.port}/postgres?sslmode=disable"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> "TimescaleServer":
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([self.node, "server.mjs", str(self.port)], cwd=SERVER_DIR,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, "NODE_OPTIONS": ""})
        deadline = time.monotonic() + STARTUP_SECONDS
        while f"ready {self.port}" not in self.log_tail(10_000):
            if self.process.poll() is not None:
                pytest.fail(f"the TimescaleDB test server exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the TimescaleDB test server did not start in {STARTUP_SECONDS}s:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
