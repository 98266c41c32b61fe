"""Publish→committed latency through real Mosquitto into PostgreSQL, at fixed message rates.

Prints p50/p99 per rate and the loss count (rows expected vs stored). Bounded: each rate runs
for --seconds (default 10) at most, on loopback only. The publisher (bench/publisher.py) runs in its
own process and stamps each message's ts with its send time; the ingest runs in this process so every
commit is observed (writer.on_commit): latency = commit time - ts.
Usage: python bench/latency.py [--rates 1000,2000] [--seconds 10] [--gateways 1000]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.common import Mosquitto, bench_services, machine, percentile  # noqa: E402
from ingest.heap import freeze_startup_heap, tune_garbage_collector  # noqa: E402
from ingest.service import start_ingest  # noqa: E402
from tds_dash.settings import load_settings  # noqa: E402

GATEWAYS = 1000  # issue 17: "from 1,000 gateways" (--gateways)
# The writer's and the rollup worker's backends (their application_name), for --timeline's samples.
INGEST_BACKENDS = ("SELECT application_name, pid, state, wait_event_type, wait_event FROM pg_stat_activity"
                   " WHERE application_name IN ('tds-ingest-writer', 'tds-rollup-worker')")


def run_rate(rate: float, seconds: float, readings: int, mosquitto: Mosquitto,
             databases: harness.Databases, gateways: int = GATEWAYS, timeline: bool = False) -> dict:
    """The ingest in this process (to observe commits), the publisher in its own (no shared GIL)."""
    dsn = databases.fresh(gateways, readings, prefix=f"L{int(rate)}")
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    client_id = f"bench-latency-{int(rate)}-{time.time_ns()}"
    settings = load_settings({"DATABASE_URL": url, "MQTT_URL": mosquitto.url, "TDS_MQTT_CLIENT_ID": client_id,
                              "TDS_MQTT_STATUS_TOPIC": "",
                              **{k: v for k, v in os.environ.items() if k in ("TDS_ROLLUP_PASS_MS", "TDS_INGEST_FLUSH_MS")}})
    handle = start_ingest(settings, dsn, mosquitto.url)
    handle.subscriber.connected.wait(10)
    latencies: list[float] = []
    lock = threading.Lock()

    recorded = Timeline() if timeline else None

    def observe(batch, committed_at):
        with lock:
            latencies.extend((committed_at - env.message.sent_at).total_seconds() * 1000
                             for env in batch if env.message is not None)
            if recorded is not None:
                recorded.note_batch(batch, committed_at)
    handle.writer.on_commit.append(observe)
    if recorded is not None:
        recorded.wrap(handle)
        recorded.sample_waits(dsn)
        recorded.start_cpu(dsn, mosquitto.process.pid)
    time.sleep(0.5)  # the SUBACK; the session is new, so nothing published before it would be queued
    count = int(rate * seconds)
    published = harness.publisher_result(harness.start_publisher(mosquitto.port, count, readings, gateways, rate=rate,
                                                                 prefix=f"L{int(rate)}", deadline=seconds + 60))
    deadline = time.monotonic() + 30
    while len(latencies) < published["acked"] and time.monotonic() < deadline:
        time.sleep(0.05)
    rollups = handle.rollups
    lag_p99 = rollups.lag_percentile(0.99) if rollups else None
    if recorded is not None:
        recorded.print_cpu()
    handle.stop()
    if recorded is not None:
        recorded.print_split(rate, readings)
    stored = harness.count_rows(dsn)
    # ts has millisecond resolution (truncated): a latency can read up to 1 ms high.
    return {"rate": rate, "sent": published["sent"], "acked": published["acked"], "committed": len(latencies),
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")), "expected_rows": published["acked"] * readings,
            "stored_rows": stored, "batches": handle.stats.snapshot()["batches"],
            # commit -> the rollup pass that merged it, per key (seconds): how current charts are
            "lag_p99": lag_p99 if lag_p99 is not None else float("nan"),
            "lag_max": rollups.max_lag_s if rollups else float("nan")}


class Timeline:
    """--timeline: each message's publish -> paho receive -> commit, each batch's commit time, each rollup
    pass's start and end (the worker's and the writer's methods wrapped here), to see which part of the path
    the slow messages spent their time in and whether a pass was running."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, float, float]] = []  # (sent, received, committed), epoch seconds
        self.commits: list[tuple[float, float]] = []  # (began, ended) of each batch's write + commit
        self.passes: list[tuple[float, float]] = []
        self.waits: list[tuple[float, str, str]] = []  # (epoch s, backend, state / wait event) every ~2 ms
        self.sampling = threading.Event()

    def start_cpu(self, dsn: str, broker_pid: int) -> None:
        """CPU seconds of each part over the run: this process (paho + writer + worker threads), the writer's
        and the worker's PostgreSQL backends (their whole life: they connect at the run's start), the broker,
        and the whole machine (the rest: the publisher, other backends, anything else running)."""
        self.dsn = dsn
        self.cpu_parts = {"app": psutil.Process(), "broker": psutil.Process(broker_pid)}
        self.cpu_began = {name: sum(proc.cpu_times()[:2]) for name, proc in self.cpu_parts.items()}
        self.machine_began = psutil.cpu_times()
        self.wall_began = time.monotonic()

    def print_cpu(self) -> None:
        wall = time.monotonic() - self.wall_began
        used = {name: sum(proc.cpu_times()[:2]) - self.cpu_began[name] for name, proc in self.cpu_parts.items()}
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for name, pid, *_ in conn.execute(INGEST_BACKENDS).fetchall():
                used[name.removeprefix("tds-") + " backend"] = sum(psutil.Process(pid).cpu_times()[:2])
        now = psutil.cpu_times()
        busy = sum(now[:3]) - sum(self.machine_began[:3]) + (now.softirq - self.machine_began.softirq)
        parts = ", ".join(f"{name} {seconds / wall:.2f}" for name, seconds in used.items())
        print(f"    CPU (cores over {wall:.1f} s): {parts}, the rest {(busy - sum(used.values())) / wall:.2f},"
              f" machine {busy / wall:.2f} of {psutil.cpu_count()}")

    def sample_waits(self, dsn: str) -> None:
        """What the writer's and the worker's backends are doing, from pg_stat_activity every ~2 ms (a third
        connection): on CPU ("active"), or waiting, and on what."""
        def run() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                while not self.sampling.is_set():
                    now = time.time()
                    for name, _, state, kind, event in conn.execute(INGEST_BACKENDS).fetchall():
                        self.waits.append((now, name.removeprefix("tds-"),
                                           f"{kind}:{event}" if event else (state or "?")))
                    self.sampling.wait(0.002)
        threading.Thread(target=run, daemon=True).start()

    def wrap(self, handle) -> None:
        writer, rollups = handle.writer, handle.rollups
        commit = writer._commit

        def timed_commit(batch):
            began = time.time()
            try:
                return commit(batch)
            finally:
                self.commits.append((began, time.time()))
        writer._commit = timed_commit
        if rollups is not None:
            run_pass = rollups.run_pass

            def timed_pass():
                began = time.time()
                merged = run_pass()
                if merged:
                    self.passes.append((began, time.time()))
                return merged
            rollups.run_pass = timed_pass

    def note_batch(self, batch, committed_at) -> None:
        done = committed_at.timestamp()
        self.messages.extend((env.message.sent_at.timestamp(), env.received_at.timestamp(), done)
                             for env in batch if env.message is not None)

    def _in_pass(self, at: float) -> bool:
        return any(lo <= at <= hi for lo, hi in self.passes)

    def print_split(self, rate: float, readings: int) -> None:
        def p(values, q):
            return percentile(values, q) if values else float("nan")
        to_paho = [(r - s) * 1000 for s, r, _ in self.messages]
        to_commit = [(c - r) * 1000 for _, r, c in self.messages]
        during = [(c - s) * 1000 for s, _, c in self.messages if self._in_pass(c)]
        outside = [(c - s) * 1000 for s, _, c in self.messages if not self._in_pass(c)]
        batch_ms = [(hi - lo) * 1000 for lo, hi in self.commits]
        batch_in = [(hi - lo) * 1000 for lo, hi in self.commits if self._in_pass(hi)]
        self.sampling.set()
        busy = sum(hi - lo for lo, hi in self.passes)
        span = (max(c for *_, c in self.messages) - min(s for s, *_ in self.messages)) if self.messages else 0
        print(f"  timeline {readings}/msg at {rate:.0f} msg/s: publish -> paho p50/p99 {p(to_paho, .5):.1f} /"
              f" {p(to_paho, .99):.1f} ms, paho -> commit p50/p99 {p(to_commit, .5):.1f} / {p(to_commit, .99):.1f} ms;"
              f" {len(self.passes)} passes busy {busy:.1f} s of {span:.1f} s;"
              f" committed during a pass p99 {p(during, .99):.1f} ms ({len(during)} msgs), outside {p(outside, .99):.1f}"
              f" ms ({len(outside)}); batch write+commit p50/p99 {p(batch_ms, .5):.1f} / {p(batch_ms, .99):.1f} ms,"
              f" during a pass p99 {p(batch_in, .99):.1f} ms")
        self._print_waits()

    def _print_waits(self) -> None:
        for backend in ("ingest-writer", "rollup-worker"):
            for label, in_pass in (("during a pass", True), ("outside", False)):
                seen = Counter(w for at, b, w in self.waits if b == backend and self._in_pass(at) == in_pass)
                total = sum(seen.values()) or 1
                top = ", ".join(f"{w} {n * 100 / total:.0f} %" for w, n in seen.most_common(6))
                print(f"    {backend} {label} ({total} samples): {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="1000,2000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--readings", default="1,10", help="readings per message (energy counters and power gauges)")
    parser.add_argument("--gateways", type=int, default=GATEWAYS, help="publishing round-robin over this many")
    parser.add_argument("--timeline", action="store_true",
                        help="also print where the time went: publish -> paho -> commit, and during rollup passes or not")
    args = parser.parse_args()
    tune_garbage_collector()  # as `python -m tds_dash run|ingest` do (ingest/heap.py)
    freeze_startup_heap()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"load average before: {harness.load_average()}")
    with bench_services() as services:
        mosquitto = services.mosquitto
        dsn = services.dsn
        databases = harness.Databases(dsn)
        print(f"{args.gateways} gateways, publisher in its own process")
        print("readings/msg | rate msg/s | sent | acked | committed | batches | p50 ms | p99 ms | max ms | rows expected"
              " | rows stored | lost | rollup lag p99 s | rollup lag max s")
        for readings in (int(n) for n in args.readings.split(",")):
            for rate in (float(r) for r in args.rates.split(",")):
                r = run_rate(rate, args.seconds, readings, mosquitto, databases, args.gateways, args.timeline)
                print(f"{readings:>12} | {r['rate']:>10.0f} | {r['sent']:>5} | {r['acked']:>5} | {r['committed']:>9} |"
                      f" {r['batches']:>7} |"
                      f" {r['p50']:>6.1f} | {r['p99']:>6.1f} | {r['max']:>6.1f} | {r['expected_rows']:>13} |"
                      f" {r['stored_rows']:>11} | {r['expected_rows'] - r['stored_rows']} |"
                      f" {r['lag_p99']:>16.2f} | {r['lag_max']:>16.2f}")
        print(f"load average after: {harness.load_average()}")


if __name__ == "__main__":
    main()
