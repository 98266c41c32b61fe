"""Time from `python -m tds_dash run` (venv already built) to the overview showing data.

Runs the embedded demo twice in a fresh data dir: the first start includes the one-off backfill
(reported separately), the second is the everyday start. "Showing data" = signed in as the demo
admin, the overview's data callback returns cards with readings (what the browser would draw).
Usage: python bench/startup.py [--backfill-days 400]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _overview_has_data(session: requests.Session, base: str) -> bool:
    """Ask the overview's store callback exactly as the browser does."""
    body = {"output": "..overview-store.data...overview-updated.children...overview-alert.children..",
            "outputs": [{"id": "overview-store", "property": "data"}, {"id": "overview-updated", "property": "children"},
                        {"id": "overview-alert", "property": "children"}],
            "inputs": [{"id": "overview-interval", "property": "n_intervals", "value": None},
                       {"id": "overview-account", "property": "value", "value": None},
                       {"id": "overview-gateway", "property": "value", "value": None},
                       {"id": "overview-metric", "property": "value", "value": "energy_kwh"}],
            "changedPropIds": [], "state": []}
    response = session.post(base + "/_dash-update-component", json=body, timeout=10)
    if response.status_code != 200:
        return False
    store = response.json()["response"]["overview-store"]["data"]
    return store["cards"]["readings_24h"] > 0 and len(store["monthly"]) >= 13


def _sign_in(session: requests.Session, base: str, password: str) -> None:
    page = session.get(base + "/login", timeout=5).text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    session.post(base + "/login", data={"username": "admin", "password": password, "csrf": token, "next": "/"},
                 timeout=10)


def run_once(data_dir: Path, backfill_days: int) -> tuple[float, float | None, float]:
    """(seconds to data shown, seconds the log says the backfill took, seconds to stop)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MQTT_URL"}}
    env.update(TDS_DATA_DIR=str(data_dir), PORT=str(port), TDS_EMBEDDED_MQTT_PORT=str(free_port()),
               TDS_BACKFILL_DAYS=str(backfill_days), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    log_path = data_dir.parent / f"run-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "tds_dash", "run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base, session, shown = f"http://127.0.0.1:{port}", requests.Session(), None
    deadline = started + 900
    while time.monotonic() < deadline and shown is None:
        time.sleep(0.2)
        credentials = data_dir / "demo-credentials.json"
        try:
            if credentials.exists() and not session.cookies:
                _sign_in(session, base, json.loads(credentials.read_text())[0]["password"])
            if session.cookies and _overview_has_data(session, base):
                shown = time.monotonic() - started
        except (requests.RequestException, ValueError, KeyError, AttributeError):
            continue
    stop_started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(60)
    stopped = time.monotonic() - stop_started
    text = log_path.read_text()
    match = re.search(r"backfill: 100%.*?\[(\d+):(\d+)<", text)
    backfill = int(match.group(1)) * 60 + int(match.group(2)) if match else None
    return shown if shown is not None else float("nan"), backfill, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backfill-days", type=int, default=400)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    work = Path(tempfile.mkdtemp(prefix="tds-bench-startup-"))
    try:
        first, backfill, stop1 = run_once(work / "var", args.backfill_days)
        second, _, stop2 = run_once(work / "var", args.backfill_days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"first start (fresh var/, {args.backfill_days} days of history): data shown after {first:.1f} s,"
          f" of which backfill ~{backfill} s; Ctrl-C stop took {stop1:.1f} s")
    print(f"second start (data reused): data shown after {second:.1f} s; Ctrl-C stop took {stop2:.1f} s")


if __name__ == "__main__":
    main()
