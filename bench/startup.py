"""Time from `python -m tds_dash run` (venv already built) to the overview showing live data, and to
the demo's history being complete.

Runs the embedded demo twice in a fresh data dir: the first start includes the one-off history load,
the second is the everyday start. "Live data shown" = signed in as the demo admin, the overview's data
callback returns cards with readings of the last 24 h (what the browser would draw); "history complete"
= that callback has 13 months and /api/health no longer reports the history loading (an app from before
the background load has no such field: its history is complete once the months are there).
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

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _overview_store(session: requests.Session, base: str) -> dict | None:
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
        return None
    answer = response.json()["response"]
    store = answer["overview-store"]["data"]
    if isinstance(store, dict):
        store["_notice"] = _text_of(answer.get("overview-alert", {}).get("children"))
    return store


def _text_of(component) -> str:
    """The visible text of a Dash component tree as JSON (the overview's history notice)."""
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    if isinstance(component, list):
        return " ".join(_text_of(item) for item in component)
    if isinstance(component, dict):
        return _text_of(component.get("props", {}).get("children"))
    return str(component)


def _history_loading(base: str, seen: list | None = None) -> bool:
    body = requests.get(base + "/api/health", timeout=5).json()
    history = body.get("history", {})
    if seen is not None and history:
        seen.append(history)
    return history.get("status") == "loading"


def _cpu_seconds(pid: int, data_dir: Path | None = None) -> float:
    """user + system CPU of the app and its children, and of the embedded PostgreSQL (pg_ctl detaches it:
    found by its data directory), exited backends included (their parent reaped them): load does not change it."""
    try:
        roots = [psutil.Process(pid)]
        if data_dir is not None:
            roots += [p for p in psutil.process_iter(["cmdline", "ppid"])
                      if any(str(data_dir) in part for part in (p.info["cmdline"] or []))
                      and p.info["ppid"] not in {r.pid for r in roots} and p.pid != pid]
        seen, total = set(), 0.0
        for root in roots:
            for process in [root, *root.children(recursive=True)]:
                if process.pid in seen:
                    continue
                seen.add(process.pid)
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        return total
    except psutil.Error:
        return float("nan")


def _sign_in(session: requests.Session, base: str, password: str) -> None:
    page = session.get(base + "/login", timeout=5).text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    session.post(base + "/login", data={"username": "admin", "password": password, "csrf": token, "next": "/"},
                 timeout=10)


def run_once(data_dir: Path, backfill_days: int, live_only: bool = False) -> dict:
    """Seconds to live data shown, to history complete, and to stop after Ctrl-C."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MQTT_URL"}}
    env.update(TDS_DATA_DIR=str(data_dir), PORT=str(port), TDS_EMBEDDED_MQTT_PORT=str(free_port()),
               TDS_EMBEDDED_MQTT_TLS_PORT=str(free_port()),
               TDS_BACKFILL_DAYS=str(backfill_days), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    log_path = data_dir.parent / f"run-{port}.log"
    with open(log_path, "w") as log:
        # Ctrl-C's own disposition: a script started in the background by a shell without job control
        # inherits SIGINT ignored, and the app would then never see the Ctrl-C this measures.
        process = subprocess.Popen([sys.executable, "-m", "tds_dash", "run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    base, session, live, complete = f"http://127.0.0.1:{port}", requests.Session(), None, None
    live_cpu = float("nan")  # CPU seconds of the app and its children (PostgreSQL) when live data showed
    complete_cpu = float("nan")  # ... and when the history was complete
    notices: list[tuple[float, str]] = []  # (seconds, the overview's history notice) whenever it changes
    health: list[dict] = []
    deadline = started + 900
    while time.monotonic() < deadline and complete is None and not (live_only and live is not None):
        time.sleep(0.2)
        credentials = data_dir / "demo-credentials.json"
        try:
            if credentials.exists() and not session.cookies:
                _sign_in(session, base, json.loads(credentials.read_text())[0]["password"])
            store = _overview_store(session, base) if session.cookies else None
            if store and store["cards"]["readings_24h"] > 0 and live is None:
                live = time.monotonic() - started
                live_cpu = _cpu_seconds(process.pid, data_dir)
            if store is not None and (not notices or notices[-1][1] != store["_notice"]):
                notices.append((time.monotonic() - started, store["_notice"]))
            loading = _history_loading(base, health) if store else True
            if store and len(store["monthly"]) >= 13 and not loading:
                complete = time.monotonic() - started
                complete_cpu = _cpu_seconds(process.pid, data_dir)
        except (requests.RequestException, ValueError, KeyError, AttributeError, TypeError):
            continue
    stop_started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(60)
    progress_lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()
                      if "demo history" in line or "history:" in line]
    return {"live_cpu": live_cpu, "complete_cpu": complete_cpu, "notices": notices, "health": health[:1] + health[-1:], "log": progress_lines,
            "live": live if live is not None else float("nan"),
            "complete": complete if complete is not None else float("nan"), "stop": time.monotonic() - stop_started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backfill-days", type=int, default=400)
    parser.add_argument("--live-only", action="store_true",
                        help="one first start, stopped once live data shows (compare versions quickly)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    work = Path(tempfile.mkdtemp(prefix="tds-bench-startup-"))
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} / {os.getloadavg()[2]:.2f}")
        first = run_once(work / "var", args.backfill_days, args.live_only)
        if args.live_only:
            print(f"first start: live data shown after {first['live']:.1f} s"
                  f" ({first['live_cpu']:.1f} s of CPU in the app and its PostgreSQL by then)")
            return
        second = run_once(work / "var", args.backfill_days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"first start (fresh var/, {args.backfill_days} days of history): live data shown after {first['live']:.1f} s"
          f" ({first['live_cpu']:.1f} s of CPU in the app and its PostgreSQL by then),"
          f" history complete after {first['complete']:.1f} s ({first['complete_cpu']:.1f} s of CPU by then); Ctrl-C stop took {first['stop']:.1f} s")
    print(f"second start (data reused): live data shown after {second['live']:.1f} s, everything after"
          f" {second['complete']:.1f} s; Ctrl-C stop took {second['stop']:.1f} s")
    for name, run in (("first", first), ("second", second)):
        print(f"{name} start, the overview's history notice as it changed (s: text):")
        shown = run["notices"] if len(run["notices"]) <= 8 else [*run["notices"][:4], (float("nan"), "…"),
                                                                  *run["notices"][-3:]]
        for at, text in shown:
            print(f"  {at:6.1f}: {text[:110]!r}")
        print(f"{name} start, /api/health history (first, last seen): {run['health']}")
        print(f"{name} start, log: " + " | ".join(line[24:] for line in run["log"]))
    print(f"load average after: {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} / {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
