"""The peer users build instead: Node-RED 4.1 (`mqtt in` -> function node -> one INSERT per message through
`pg` 8), on the same broker, table and load as our ingest (bench/throughput.py calls run()).

Installed here by npm on first use (bench/nodered/package.json, pinned; node_modules is not committed), never
by the tests. The flow (bench/nodered/flows.json) resumes a persistent MQTT 5 session at QoS 1, like ours; it
maps device codes to ids in SQL and skips duplicates (ON CONFLICT DO NOTHING) but keeps no rollups and
acknowledges each message on arrival, before its INSERT has run (Node-RED's mqtt node has no ack-after-work).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench import harness

HERE = Path(__file__).resolve().parent / "nodered"
TOPIC = "tds/+/+/telemetry"


def install() -> Path | None:
    """node_modules/node-red/red.js, installing with npm if needed; None when node/npm are missing."""
    red = HERE / "node_modules" / "node-red" / "red.js"
    if red.exists():
        return red
    if not shutil.which("npm") or not shutil.which("node"):
        print("Node-RED peer skipped: node/npm not installed")
        return None
    print("installing Node-RED and pg with npm (once)...", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True,
                   timeout=900)
    return red if red.exists() else None


def run(mosquitto, databases, count: int, readings: int, gateways: int, log_dir: Path) -> dict | None:
    red = install()
    if red is None:
        return None
    dsn = databases.fresh(gateways, readings)
    client_id = f"bench-nodered-{uuid.uuid4().hex[:8]}"
    harness.create_session(mosquitto.port, client_id, TOPIC)
    published = harness.publisher_result(harness.start_publisher(mosquitto.port, count, readings, gateways))
    user_dir = Path(tempfile.mkdtemp(prefix="tds-bench-nodered-"))
    shutil.copy(HERE / "flows.json", user_dir / "flows.json")
    env = {"DATABASE_URL": dsn, "MQTT_PORT": str(mosquitto.port), "MQTT_CLIENT_ID": client_id,
           "NODERED_USER_DIR": str(user_dir), "NODERED_PORT": str(harness_free_port()), "PATH": _path()}
    log = open(log_dir / f"{client_id}.log", "ab")
    process = subprocess.Popen(["node", str(red), "--settings", str(HERE / "settings.js"), "--userDir", str(user_dir),
                                str(user_dir / "flows.json")], env=env, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
    sampler = harness.RssSampler(process.pid)
    sampler.start()
    try:
        timeline = harness.watch_rows(dsn, count * readings, timeout=30)
    finally:
        harness.stop(process)
        sampler.stopped.set()
        log.close()
        shutil.rmtree(user_dir, ignore_errors=True)
    stored = harness.count_rows(dsn)
    rate = harness.sustained_rate(timeline)
    return {"name": f"peer: Node-RED 4.1 + pg 8, no rollups ({readings}/msg)", "readings_per_s": rate,
            "messages_per_s": rate / readings, "lost": published["acked"] * readings - stored,
            "rss_peak": sampler.peak, "rss_mid": sampler.at_fraction(0.5), "rss_late": sampler.at_fraction(0.9)}


def harness_free_port() -> int:
    from bench.common import free_port
    return free_port()


def _path() -> str:
    import os
    return os.environ.get("PATH", "/usr/bin:/bin")
