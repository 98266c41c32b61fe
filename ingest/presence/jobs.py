"""The presence jobs: apply the rules to what the database holds, once across processes.

Each job takes its own transaction and an injectable `now`; the advisory locks keep two processes
from sweeping at once (README "Presence").
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from ingest.db import session_scope
from ingest.presence import statements as queries
from ingest.presence.rules import Transition, device_change, device_interval, evaluate_gateway

log = logging.getLogger(__name__)

# Keys for pg_try_advisory_xact_lock: any fixed numbers, the same in every process of this app.
GATEWAY_LOCK_KEY = 7_301_010
DEVICE_LOCK_KEY = 7_301_011
BURST_LOCK_KEY = 7_301_012


def check_gateways(engine: Engine, now: datetime, flap_window: timedelta, gateway_id: int | None = None,
                   sweep_lock: bool = True) -> list[Transition]:
    """Apply every due gateway transition once, whatever the number of processes running this job.

    With sweep_lock, a process that finds the advisory lock taken skips this run (another one is doing
    it). Without it (the status recorder, which must apply a will now) it evaluates anyway: the
    compare-and-set in apply_gateway_transition makes each transition count once either way.
    """
    applied = []
    with session_scope(engine) as conn:
        if sweep_lock and not queries.try_lock(conn, GATEWAY_LOCK_KEY):
            return []
        for state in queries.fetch_gateway_states(conn, gateway_id):
            transition = evaluate_gateway(state, now)
            if transition is not None and queries.apply_gateway_transition(conn, transition, flap_window):
                applied.append(transition)
    for transition in applied:
        log.info("gateway %s %s (%s) at %s", transition.serial, transition.status, transition.reason,
                 transition.at.isoformat())
    return applied


def check_devices(engine: Engine, now: datetime) -> int:
    """Record meters falling silent (3x their usual interval, gateway online) and coming back."""
    changed = 0
    with session_scope(engine) as conn:
        if not queries.try_lock(conn, DEVICE_LOCK_KEY):
            return 0
        for device in queries.fetch_device_activity(conn):
            interval = device["usual_interval_s"] or device_interval(device["gaps_s"] or [])
            change = device_change(device["silent_since"], device["last_reading_at"], interval, now)
            if change is not None and queries.apply_device_change(conn, device, change[0], change[1], interval):
                changed += 1
    return changed


def check_rejected_bursts(engine: Engine, now: datetime, window: timedelta, threshold: int) -> int:
    """Turn bursts of rejected messages per gateway serial into (merged) events."""
    with session_scope(engine) as conn:
        if not queries.try_lock(conn, BURST_LOCK_KEY):
            return 0
        return queries.record_rejected_bursts(conn, now, window, threshold)
