"""GET /metrics: this process's ingest in Prometheus text format (prometheus-client).

Each app gets its own CollectorRegistry holding one collector that reads the ingest's counters at scrape
time, so many apps in one process (the tests) never share or double-register metrics. Counters are per
process: with several ingest processes, Prometheus sums them (`sum without (instance)`).
"""
from __future__ import annotations

import flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tds_dash.api.health import current_ingest
from tds_dash.context import AppServices, has_role
from tds_dash.errors import json_error

COUNTERS = (  # snapshot key, metric name (the library appends _total), help
    ("received", "tds_ingest_messages_received", "Messages handed over by the broker."),
    ("acknowledged", "tds_ingest_messages_acknowledged", "PUBACKs sent, each after its message was committed."),
    ("messages", "tds_ingest_messages_committed", "Messages committed: stored, or recorded as rejected."),
    ("readings_stored", "tds_ingest_readings_stored", "New readings stored."),
    ("readings_duplicate", "tds_ingest_readings_duplicate", "Readings already stored (redeliveries, resends)."),
    ("seq_gaps", "tds_ingest_sequence_gaps", "Messages missing according to the gateways' sequence numbers."),
    ("batches", "tds_ingest_batches", "Committed batches."),
)
STATES = ("ingesting", "standby", "stopped", "disabled")


class IngestCollector:
    """Reads the app's background ingest (set after create_app) each time Prometheus scrapes."""

    def __init__(self, app_services: AppServices) -> None:
        self.app_services = app_services

    def collect(self):
        part, handle = current_ingest(self.app_services.background)
        state = "disabled" if part is None else ("ingesting" if handle is not None else getattr(part, "state", "standby"))
        family = GaugeMetricFamily("tds_ingest_state", "1 for this process's ingest state.", labels=["state"])
        for name in STATES:
            family.add_metric([name], 1.0 if name == state else 0.0)
        yield family
        stats = getattr(part, "stats", None) or getattr(handle, "stats", None)
        if stats is None:
            return
        snapshot = stats.snapshot()
        for key, name, text in COUNTERS:
            yield CounterMetricFamily(name, text, value=snapshot[key])
        rejections = CounterMetricFamily("tds_ingest_rejections", "Rejected messages by reason (partial ones too).",
                                         labels=["reason"])
        for reason, count in sorted(snapshot["rejections"].items()):
            rejections.add_metric([reason], count)
        yield rejections
        yield from stats.batch_readings.collect()
        yield from stats.commit_seconds.collect()
        yield from stats.delivery_seconds.collect()
        yield from self._gauges(handle, snapshot)

    @staticmethod
    def _gauges(handle, snapshot: dict):
        if handle is not None:
            yield GaugeMetricFamily("tds_ingest_queue_depth", "Messages waiting for the writer.",
                                    value=handle.queue_depth())
            yield GaugeMetricFamily("tds_ingest_queue_weight", "Readings + 1 per message waiting (what is bounded).",
                                    value=handle.inbox.qsize())
            yield GaugeMetricFamily("tds_ingest_queue_capacity", "Bound of the queue's weight.",
                                    value=handle.inbox.maxsize)
            yield GaugeMetricFamily("tds_ingest_broker_connected", "1 while connected to the broker.",
                                    value=1.0 if handle.subscriber.connected.is_set() else 0.0)
        yield GaugeMetricFamily("tds_ingest_queue_high_water", "Largest queue weight so far.",
                                value=snapshot["queue_high_water"])
        yield GaugeMetricFamily("tds_ingest_uncommitted_batch_seconds",
                                "Age of the batch being written (0 when idle); grows while the database is down.",
                                value=snapshot["busy_seconds"] or 0.0)
        if snapshot["last_commit_at"] is not None:
            yield GaugeMetricFamily("tds_ingest_last_commit_timestamp_seconds", "Unix time of the last commit.",
                                    value=snapshot["last_commit_at"].timestamp())


def register(server: flask.Flask, app_services: AppServices) -> None:
    """Add GET /metrics (admins: a session or an admin's API token, which Prometheus can send)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector(app_services))

    @server.get("/metrics")
    def metrics():
        if not has_role("admin"):
            return json_error(403, "forbidden", "requires role admin")
        return flask.Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
