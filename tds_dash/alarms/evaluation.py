"""The evaluation job: every enabled rule's observations applied to its alarms, once across processes.

Each run takes its own transaction and an injectable `now`; `pg_try_advisory_xact_lock` makes a second
process skip the run, and the partial unique index on alarms makes a raise count once even without it.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tds_dash.alarms import conditions, consumption, lifecycle
from tds_dash.alarms.model import Rule
from tds_dash.alarms.rules import TEMPLATES
from tds_dash.db import session_scope

log = logging.getLogger(__name__)

FAST_LOCK_KEY = 7_301_060  # any fixed numbers, the same in every process of this app
SLOW_LOCK_KEY = 7_301_061
FAST_KINDS = ("gateway_offline", "meter_silent", "ingest_stalled", "certificate_expiring")
SLOW_KINDS = ("meter_stuck", "consumption_above", "night_flow", "spike")
RESUME_GAP = timedelta(minutes=2)  # no traffic this long, then traffic: the ingest (re)connected


@dataclasses.dataclass(frozen=True)
class Grace:
    """Gateway-offline alarms wait `period` after the process started or the ingest resumed: the
    presence state is stale then (backlog not drained yet), and raising would be a storm."""

    started_at: datetime
    period: timedelta

    def raising_allowed(self, conn: Connection, now: datetime) -> bool:
        """False while within the grace period of the start or of the latest ingest resume."""
        if now < self.started_at + self.period:
            return False
        resumed = ingest_resumed_at(conn, now)
        return resumed is None or now >= resumed + self.period


_RESUMED = sa.text(
    "SELECT max(m.minute) FROM ingest_minutes m WHERE m.received > 0 AND m.minute > :since"
    " AND NOT EXISTS (SELECT 1 FROM ingest_minutes p WHERE p.received > 0 AND p.minute < m.minute"
    "   AND p.minute >= m.minute - CAST(:gap AS interval))"
    " AND EXISTS (SELECT 1 FROM ingest_minutes e WHERE e.minute < m.minute - CAST(:gap AS interval))"
)


def ingest_resumed_at(conn: Connection, now: datetime) -> datetime | None:
    """The latest minute with traffic after RESUME_GAP without any, within the last hour (None: none)."""
    return conn.execute(_RESUMED, {"since": now - timedelta(hours=1), "gap": RESUME_GAP}).scalar()


_RULES = sa.text(
    "SELECT id, account_id, kind, name, enabled, severity, gateway_id, device_id, metric_id, for_seconds,"
    " clear_seconds, params, builtin, version FROM alarm_rules WHERE enabled AND kind = ANY(:kinds)"
    # Gateways first: a device condition suppressed behind an outage is counted on an alarm that exists.
    " ORDER BY kind <> 'gateway_offline', id"
)
# On by default: every account gets a gateway-offline rule, the system an ingest-stalled one (admins).
_DEFAULTS = sa.text(
    "INSERT INTO alarm_rules (account_id, kind, name, severity, for_seconds, clear_seconds, params, builtin)"
    " SELECT a.id, 'gateway_offline', :gw_name, :gw_severity, :gw_for, :gw_clear, '{}', true FROM accounts a"
    " UNION ALL SELECT NULL, 'ingest_stalled', :in_name, :in_severity, 0, 0, CAST(:in_params AS jsonb), true"
    " ON CONFLICT (coalesce(account_id, 0), kind) WHERE builtin DO NOTHING"
)


def ensure_default_rules(conn: Connection) -> None:
    """Create the built-in rules that do not exist yet (a deleted account's go with it)."""
    gateway, ingest = TEMPLATES["gateway_offline"], TEMPLATES["ingest_stalled"]
    conn.execute(_DEFAULTS, {"gw_name": "Gateway offline", "gw_severity": gateway.severity,
                             "gw_for": gateway.for_seconds, "gw_clear": gateway.clear_seconds,
                             "in_name": "Ingest stalled", "in_severity": ingest.severity,
                             "in_params": json.dumps(ingest.params)})


def load_rules(conn: Connection, kinds: tuple[str, ...]) -> list[Rule]:
    """Enabled rules of these kinds, gateway rules first."""
    return [Rule(**row) for row in conn.execute(_RULES, {"kinds": list(kinds)}).mappings()]


def observe(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo) -> list:
    """The rule's observations at `now`."""
    if rule.kind in FAST_KINDS:
        return getattr(conditions, rule.kind)(conn, rule, now)
    return getattr(consumption, rule.kind)(conn, rule, now, zone)


def _try_lock(conn: Connection, key: int) -> bool:
    return conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar_one()


def _apply_rule(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo, may_raise: bool) -> dict[str, int]:
    """One rule in a savepoint: a rule that fails (a defect, odd data) is logged and must not stop the others."""
    try:
        with conn.begin_nested():
            return lifecycle.apply_observations(conn, rule, observe(conn, rule, now, zone), now, may_raise)
    except sa.exc.OperationalError:
        raise  # the database is away: the whole run fails and the next one retries
    except Exception:
        log.exception("alarm rule %s (%s) failed to evaluate", rule.id, rule.kind)
        return {}


def evaluate(engine: Engine, now: datetime, zone: ZoneInfo, kinds: tuple[str, ...] = FAST_KINDS,
             grace: Grace | None = None, lock_key: int | None = FAST_LOCK_KEY) -> dict[str, int]:
    """Apply every enabled rule of these kinds; {} when another process holds the lock (it is evaluating)."""
    totals = {"raised": 0, "reraised": 0, "cleared": 0, "suppressed": 0}
    with session_scope(engine) as conn:
        if lock_key is not None and not _try_lock(conn, lock_key):
            return {}
        ensure_default_rules(conn)
        offline_allowed = grace is None or grace.raising_allowed(conn, now)
        for rule in load_rules(conn, kinds):
            may_raise = offline_allowed or rule.kind != "gateway_offline"
            for key, value in _apply_rule(conn, rule, now, zone, may_raise).items():
                totals[key] += value
    if totals["raised"] or totals["cleared"]:
        log.info("alarms: %s", totals)
    return totals


def job(engine: Engine, clock: Callable[[], datetime], zone: ZoneInfo, kinds: tuple[str, ...], grace: Grace,
        lock_key: int) -> Callable[[], dict]:
    """A scheduler job body for these kinds (the clock is read at each run)."""
    return lambda: evaluate(engine, clock(), zone, kinds, grace, lock_key)
