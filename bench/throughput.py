"""Ingest throughput against the machine's own limits, side by side in one run (loopback, bounded).

Every consumer is measured the same way: a backlog of N messages is published first into its persistent
MQTT session (the publisher is done before it starts), then it drains the backlog; the rate is from its
first to its last message (or row). So each figure is that consumer's own ceiling on this machine, with the
broker (and PostgreSQL) beside it, and the backlog is bigger than any queue: RSS must stay flat.

- ceiling: a bare paho subscriber that only parses JSON (bench/ceiling_subscriber.py); a bare binary COPY
  loop into the readings table (10k-row batches).
- ours: `python -m tds_dash run` (the whole app: web, scheduler, ingest with idempotency and rollups,
  acknowledging after commit), one process, then two sharing the stream (TDS_INGEST_SLOTS=2).
- peer: Node-RED 4.1 (`mqtt in` -> function -> `pg` 8, bench/nodered/), if npm is available (--no-nodered).
Readings per message alternate an energy counter and a power gauge per device (bench/publisher.py).
Zero loss is checked in every run: rows stored vs readings published and acknowledged by the broker.
Usage: python bench/throughput.py [--messages 60000] [--no-nodered]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import psycopg  # noqa: E402

from bench import harness  # noqa: E402
from bench.common import Mosquitto, bench_services, free_port, machine  # noqa: E402

GATEWAYS = 100
TOPIC = "tds/+/+/telemetry"
LOG_DIR = Path("/tmp/tds-bench-logs")


def ceiling_subscriber(mosquitto: Mosquitto, count: int, readings: int) -> dict:
    client_id = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    harness.create_session(mosquitto.port, client_id, TOPIC)
    harness.publisher_result(harness.start_publisher(mosquitto.port, count, readings, GATEWAYS))
    process = subprocess.Popen([harness.PYTHON, str(harness.ROOT / "bench" / "ceiling_subscriber.py"), "--port",
                                str(mosquitto.port), "--count", str(count), "--client-id", client_id],
                               stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    result = json.loads(process.stdout.readline())
    process.wait(30)
    rate = result["received"] / result["seconds"] if result["seconds"] else float("nan")
    return {"name": f"ceiling: paho subscriber, parse only ({readings}/msg)", "readings_per_s": rate * readings,
            "messages_per_s": rate, "lost": count - result["received"]}


def harness_cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except psutil.Error:
        return float("nan")


def ceiling_copy(databases: harness.Databases, rows: int = 500_000, batch: int = 10_000) -> dict:
    """Binary COPY straight into readings: no staging, no conflict check, no rollups."""
    dsn = databases.fresh(GATEWAYS, 10)
    with psycopg.connect(dsn) as conn:
        devices = conn.execute("SELECT id, account_id, gateway_id FROM devices ORDER BY id").fetchall()
        start, now = datetime.now(timezone.utc) - timedelta(days=1), datetime.now(timezone.utc)
        began = time.monotonic()
        for first in range(0, rows, batch):
            with conn.cursor() as cursor, cursor.copy(
                    "COPY readings (device_id, metric_id, ts, value, account_id, gateway_id, received_at)"
                    " FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int2", "timestamptz", "float8", "int8", "int8", "timestamptz"])
                for n in range(first, first + batch):
                    device, account, gateway = devices[n % len(devices)]
                    copy.write_row((device, 5, start + timedelta(milliseconds=n), float(n), account, gateway, now))
            conn.commit()
        seconds = time.monotonic() - began
    return {"name": "ceiling: binary COPY into readings (10k batches)", "readings_per_s": rows / seconds,
            "lost": rows - harness.count_rows(dsn)}


def postgres_cpu(server) -> float:
    """CPU seconds of the PostgreSQL server and its live backends."""
    try:
        root = psutil.Process(server.server.get_pid())
    except (psutil.Error, AttributeError):
        return float("nan")
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each native thread of a process, from /proc (load does not change it)."""
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return times


def thread_names(pid: int) -> dict[int, str]:
    """Native thread id -> Python thread name (py-spy dump), so per-thread CPU can be named."""
    try:
        out = subprocess.run([str(Path(harness.PYTHON).parent / "py-spy"), "dump", "--json", "--pid", str(pid)],
                             capture_output=True, text=True, timeout=30).stdout
        threads = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    names = {}
    for thread in threads:
        frames = thread.get("frames") or []
        where = next((f"{f['name']}@{Path(f['filename']).name}" for f in frames
                      if "paho" in f["filename"] or "ingest" in f["filename"]), frames[-1]["name"] if frames else "")
        names[thread.get("os_thread_id") or thread["thread_id"]] = f"{thread.get('thread_name') or '?'} ({where})"
    return names


class WaitSampler(threading.Thread):
    """What the ingest writers' backends are doing, sampled every 20 ms (pg_stat_activity): running,
    waiting on a lock (and which kind), on the client (the writer's Python), or on I/O."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.counts, self.stopped = dsn, collections.Counter(), threading.Event()
        # Backend pid -> (application name, CPU seconds when first seen): PostgreSQL's CPU split by who asked.
        self.backends: dict[int, tuple[str, float]] = {}

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stopped.wait(0.02):
                for pid, name in conn.execute(
                        "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()").fetchall():
                    if pid not in self.backends:
                        self.backends[pid] = (name or "?", harness_cpu(pid))
                for state, kind, event in conn.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                        " WHERE application_name = 'tds-ingest-writer' AND datname = current_database()").fetchall():
                    if state == "idle in transaction" and kind == "Client":
                        self.counts["idle in transaction (writer's Python)"] += 1
                    elif state == "idle":
                        self.counts["idle (between batches)"] += 1
                    else:
                        self.counts[f"{kind}:{event}" if kind else "running"] += 1

    def backend_cpu(self) -> dict[str, float]:
        """CPU seconds since first seen, per application name (writers, rollup worker, the rest)."""
        totals: collections.Counter = collections.Counter()
        for pid, (name, first) in self.backends.items():
            now = harness_cpu(pid)
            if now == now and first == first:  # not NaN: still alive
                totals[name] += now - first
        return dict(totals)

    def shares(self) -> dict[str, float]:
        total = sum(self.counts.values()) or 1
        return {name: n / total for name, n in self.counts.most_common()}


def ours(mosquitto: Mosquitto, databases: harness.Databases, server, count: int, readings: int,
         processes: int = 1, batch_size: int | None = None, profile: Path | None = None) -> dict:
    dsn = databases.fresh(GATEWAYS, readings)
    base = f"bench-ours-{uuid.uuid4().hex[:8]}"
    group = f"g{uuid.uuid4().hex[:6]}"
    slots = [None] if processes == 1 else list(range(processes))
    for slot in slots:
        client_id = base if not slot else f"{base}-{slot}"
        harness.create_session(mosquitto.port, client_id, TOPIC if processes == 1 else f"$share/{group}/{TOPIC}")
    published = harness.publisher_result(harness.start_publisher(mosquitto.port, count, readings, GATEWAYS))
    env = {"DATABASE_URL": dsn, "MQTT_URL": mosquitto.url, "TDS_MQTT_CLIENT_ID": base, "TDS_DEMO_FLEET": "false",
           "TDS_INGEST_SLOTS": str(processes), "TDS_MQTT_SHARED_GROUP": group, "TDS_MQTT_STATUS_TOPIC": ""}
    if batch_size:
        env["TDS_INGEST_BATCH_SIZE"] = str(batch_size)
    cpu_pg, cpu_broker = postgres_cpu(server), harness_cpu(mosquitto.process.pid)
    apps = [harness.start_app("run", {**env, "PORT": str(free_port())}, LOG_DIR / f"{base}-{n}.log")
            for n in range(processes)]
    samplers = [harness.RssSampler(app.pid) for app in apps]
    for sampler in samplers:
        sampler.start()
    harness.watch_rows(dsn, 1, timeout=60, interval=0.05)  # started: its start-up CPU is not ingest work
    cpu_apps = -sum(harness_cpu(app.pid) for app in apps)
    threads_before = thread_cpu(apps[0].pid)
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([str(Path(harness.PYTHON).parent / "py-spy"), "record", "--pid", str(apps[0].pid),
                                "--threads", "--gil", "-r", "200", "-d", "60", "-f", "raw", "-o",
                                str(profile / f"{base}-{readings}.txt")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    waits = WaitSampler(dsn)
    waits.start()
    timeline = harness.watch_rows(dsn, count * readings, timeout=60)
    waits.stopped.set()
    waits.join(5)
    backend_cpu = waits.backend_cpu()
    cpu_apps += sum(harness_cpu(app.pid) for app in apps)
    threads_after = thread_cpu(apps[0].pid)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    names = thread_names(apps[0].pid)
    per_thread = {names.get(tid, str(tid)): (threads_after[tid] - threads_before.get(tid, 0.0)) / (count / 1e6)
                  for tid in threads_after}
    per_thread = {k: v for k, v in sorted(per_thread.items(), key=lambda kv: -kv[1]) if v > 0.5}
    cpu_pg, cpu_broker = postgres_cpu(server) - cpu_pg, harness_cpu(mosquitto.process.pid) - cpu_broker
    stop_seconds = max(harness.stop(app) for app in apps)
    for sampler in samplers:
        sampler.stopped.set()
    stored = harness.count_rows(dsn)
    with psycopg.connect(dsn) as conn:
        batches, messages, commit_ms = conn.execute(
            "SELECT sum(batches), sum(messages), sum(commit_ms_sum) FROM ingest_minutes").fetchone()
    rate = harness.sustained_rate(timeline)
    million = count * readings / 1e6
    return {"name": f"ours: app ({processes} process{'es' if processes > 1 else ''}, {readings}/msg)",
            "readings_per_s": rate, "messages_per_s": rate / readings, "lost": published["acked"] * readings - stored,
            "rss_peak": max(s.peak for s in samplers), "rss_mid": samplers[0].at_fraction(0.5),
            "rss_late": samplers[0].at_fraction(0.9), "stop_s": stop_seconds,
            "cpu_ms_per_1k_messages_by_thread": per_thread, "writer_backends": waits.shares(),
            "postgres_by_backend": {name: seconds / million for name, seconds in
                                    sorted(backend_cpu.items(), key=lambda kv: -kv[1]) if seconds > 0.005},
            "batches": {"batches": batches, "messages_per_batch": (messages or 0) / (batches or 1),
                        "commit_ms_mean": float(commit_ms or 0) / (batches or 1)},
            "cpu_per_million": {"app": cpu_apps / million, "postgres": cpu_pg / million, "broker": cpu_broker / million}}


def print_table(rows: list[dict], ceilings: dict) -> None:
    print("\n| run | readings/s | messages/s | vs ceiling | lost | peak RSS MB (mid / late) | CPU s per 1M readings |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        ceiling = ceilings.get(row.get("per_msg"))
        ratio = f"{row['readings_per_s'] / ceiling:.0%}" if ceiling and row["name"].startswith(("ours", "peer")) else ""
        rss = (f"{row['rss_peak']:.0f} ({row['rss_mid']:.0f} / {row['rss_late']:.0f})" if "rss_peak" in row else "")
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in row.get("cpu_per_million", {}).items())
        messages = f"{row['messages_per_s']:,.0f}" if "messages_per_s" in row else ""
        print(f"| {row['name']} | {row['readings_per_s']:,.0f} | {messages} | {ratio} | {row['lost']} | {rss} | {cpu} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=60_000, help="messages per run at 1 reading/message")
    parser.add_argument("--messages-10", type=int, default=20_000, help="messages per run at 10 readings/message")
    parser.add_argument("--no-nodered", action="store_true")
    parser.add_argument("--only", choices=["ceiling", "ours", "nodered"], action="append")
    parser.add_argument("--one-process", action="store_true", help="skip the two-process runs")
    parser.add_argument("--per-msg", type=int, choices=[1, 10], action="append", help="only these sizes")
    parser.add_argument("--profile", type=Path, help="py-spy record (--threads --gil) the first app into this folder")
    args = parser.parse_args()
    LOG_DIR.mkdir(exist_ok=True)
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load average before: {harness.load_average()}")
    with bench_services() as services:
        mosquitto = services.mosquitto
        server, dsn, _url = services.server, services.dsn, services.url
        rows: list[dict] = []
        databases = harness.Databases(dsn)
        wanted = set(args.only or ["ceiling", "ours", "nodered"])
        sizes = {k: v for k, v in {1: args.messages, 10: args.messages_10}.items()
                 if not args.per_msg or k in args.per_msg}
        if "ceiling" in wanted:
            for per_msg, count in sizes.items():
                rows.append({**ceiling_subscriber(mosquitto, count, per_msg), "per_msg": per_msg})
            rows.append(ceiling_copy(databases))
        if "ours" in wanted:
            for per_msg, count in sizes.items():
                rows.append({**ours(mosquitto, databases, server, count, per_msg, profile=args.profile),
                             "per_msg": per_msg})
            for per_msg, count in (sizes.items() if not args.one_process else ()):
                rows.append({**ours(mosquitto, databases, server, count, per_msg, processes=2), "per_msg": per_msg})
        if "nodered" in wanted and not args.no_nodered:
            from bench import nodered
            for per_msg, count in sizes.items():
                result = nodered.run(mosquitto, databases, count, per_msg, GATEWAYS, LOG_DIR)
                if result:
                    rows.append({**result, "per_msg": per_msg})
        ceilings = {row["per_msg"]: row["readings_per_s"] for row in rows if row["name"].startswith("ceiling: paho")}
        print_table(rows, ceilings)
        for row in rows:
            if row.get("cpu_ms_per_1k_messages_by_thread"):
                b = row["batches"]
                print(f"\n{row['name']}: {b['batches']} batches, {b['messages_per_batch']:.0f} messages per batch,"
                      f" {b['commit_ms_mean']:.1f} ms per commit (mean)")
                print("writers' backends (pg_stat_activity every 20 ms): " + ", ".join(
                    f"{name} {share:.0%}" for name, share in row["writer_backends"].items() if share >= 0.01))
                print("PostgreSQL CPU s per 1M readings by backend (application_name, all processes): " + ", ".join(
                    f"{name} {value:.1f}" for name, value in row["postgres_by_backend"].items()))
                print(f"CPU ms per 1,000 messages by thread, {row['name']} (first process):")
                for name, value in row["cpu_ms_per_1k_messages_by_thread"].items():
                    print(f"  {value:8.1f}  {name}")
        print(f"\nload average after: {harness.load_average()}; logs in {LOG_DIR}")


if __name__ == "__main__":
    main()
