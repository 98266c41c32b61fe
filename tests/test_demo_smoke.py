"""The embedded demo started as a user would (`python -m tds_dash run`), then stopped with Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.helpers import ctrl_c_as_from_a_terminal

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return None


def _start(data_dir: Path, port: int, mqtt_port: int, backfill_days: int = 3) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MQTT_URL"}}
    env.update(TDS_DATA_DIR=str(data_dir), PORT=str(port), TDS_EMBEDDED_MQTT_PORT=str(mqtt_port),
               TDS_EMBEDDED_MQTT_TLS_PORT=str(_free_port()),
               TDS_BACKFILL_DAYS=str(backfill_days), TDS_DEMO_INTERVAL_SECONDS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "tds_dash", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=ctrl_c_as_from_a_terminal)


def _wait_for_live_readings(process: subprocess.Popen, port: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited early:\n{process.stdout.read()}"
        result = _health(port)
        if result and result[0] == 200 and result[1]["ingest"].get("readings_stored", 0) > 0:
            return result[1]
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"no live readings within {timeout}s:\n{process.stdout.read()}")


def _wait_for_history(process: subprocess.Popen, port: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited early:\n{process.stdout.read()}"
        result = _health(port)
        if result and result[1].get("history", {}).get("status") == "complete":
            return result[1]
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"history not loaded within {timeout}s:\n{process.stdout.read()}")


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def _postgres_running(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(data_dir) in part for part in (proc.info["cmdline"] or [])):
            return True
    return False


def test_demo001_embedded_demo_starts_ingests_and_stops_cleanly(tmp_path):
    data_dir, port, mqtt_port = tmp_path / "var", _free_port(), _free_port()
    process = _start(data_dir, port, mqtt_port)
    health = _wait_for_live_readings(process, port)
    assert health["status"] == "ok"
    assert health["database"]["has_readings"] is True
    assert health["ingest"]["broker_connected"] is True
    assert _wait_for_history(process, port)["history"]["seconds"] > 0
    output = _stop(process)
    assert f"http://127.0.0.1:{port}" in output
    assert f"mqtt://127.0.0.1:{mqtt_port}" in output
    assert "Mosquitto with mTLS" in output and "mosquitto_pub" in output  # Debian's mosquitto is installed here
    assert "first start" in output and "stopped" in output
    assert not _postgres_running(data_dir / "postgres")

    # A restart reuses the data: no second full backfill.
    process = _start(data_dir, port, mqtt_port)
    _wait_for_live_readings(process, port)
    output = _stop(process)
    assert "first start" not in output
    assert not _postgres_running(data_dir / "postgres")


def test_demo002_history_loads_behind_the_live_fleet_and_an_interrupted_load_is_redone(tmp_path):
    """Live readings and the app first; history fills in the background (progress in /api/health)."""
    data_dir, port, mqtt_port = tmp_path / "var", _free_port(), _free_port()
    process = _start(data_dir, port, mqtt_port, backfill_days=30)
    health = _wait_for_live_readings(process, port)
    assert health["history"]["status"] == "loading" and 0 <= health["history"]["progress"] < 1
    _stop(process)  # mid-load: what was written stays, the rollups are built by the next load
    process = _start(data_dir, port, mqtt_port, backfill_days=30)
    _wait_for_live_readings(process, port)
    _wait_for_history(process, port, timeout=300)
    output = _stop(process)
    assert "first start" in output  # the interrupted load was redone from its start, not topped up
    marker = json.loads((data_dir / "demo-history.json").read_text())
    assert marker["complete"] is True
