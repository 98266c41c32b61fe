"""The monthly statement job: on the 1st (local) and at start-up, each billed account's missing months.

Each run writes, per account with a tariff, the previous month (always) and any of the CATCH_UP_MONTHS
months before it that has readings and no current statement, oldest first: an app that was down on the
1st, or for months, or an account whose tariff was entered after its first readings, catches up when it
next starts. Idempotent and once across processes: each account-month is written in its own transaction
holding pg_try_advisory_xact_lock(LOCK_KEY, account) — a second process skips it — and the unique
"current statement" index turns a late second INSERT into a no-op. A restart therefore writes nothing new.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timezone

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from tds_dash import periods
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.settings import Settings
from tds_dash.statements import queries, service
from tds_dash.tariffs.validation import TariffInputError

log = logging.getLogger(__name__)
LOCK_KEY = 7_301_055  # any fixed number, the same in every process of this app
SCHEDULER = "scheduler"
CATCH_UP_MONTHS = 12  # how far back (before the previous month) a run looks for months without a statement


def previous_month(now: datetime, zone) -> date:
    """The first day of the local month before the one holding `now`."""
    return periods.add_months(now.astimezone(zone).date().replace(day=1), -1)


def months_due(conn, account_id: int, now: datetime, zone) -> list[date]:
    """The previous month and the earlier ones (CATCH_UP_MONTHS at most) with readings but no statement."""
    last = previous_month(now, zone)
    earlier = [periods.add_months(last, -i) for i in range(CATCH_UP_MONTHS, 0, -1)]
    spans = [(m, periods.local_midnight(m, zone), periods.local_midnight(periods.add_months(m, 1), zone))
             for m in earlier]
    return [*queries.missing_months(conn, account_id, spans), last]


def _write_one(engine: Engine, account_id: int, month: date, zone, now: datetime) -> str:
    with session_scope(engine) as conn:
        locked = conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key, CAST(:account AS integer))"),
                              {"key": LOCK_KEY, "account": account_id}).scalar_one()
        if not locked:
            return "busy"  # another process is writing this account's statement right now
        if queries.lock_current(conn, account_id, month) is not None:
            return "exists"
        written = service.generate(conn, ALL_ACCOUNTS, account_id, month, zone, now, SCHEDULER, "scheduled")
        return "written" if written else "exists"


def write_monthly(engine: Engine, now: datetime, zone) -> dict[str, int]:
    """Write every due statement (months_due) of every account with a tariff; counts by outcome."""
    counts = {"written": 0, "exists": 0, "busy": 0, "failed": 0}
    with session_scope(engine) as conn:
        due = [(account_id, month) for account_id in queries.billed_accounts(conn)
               for month in months_due(conn, account_id, now, zone)]
    for account_id, month in due:
        try:
            counts[_write_one(engine, account_id, month, zone, now)] += 1
        except TariffInputError as error:
            counts["failed"] += 1
            log.warning("statement of account %s for %s not written: %s", account_id, month, error)
        except Exception:  # one account's defect must not keep the others' statements from being written
            counts["failed"] += 1
            log.exception("statement of account %s for %s failed", account_id, month)
    if counts["written"] or counts["failed"]:
        log.info("statements up to %s: %s", f"{previous_month(now, zone):%Y-%m}", counts)
    return counts


def add_statement_jobs(scheduler: BaseScheduler, engine: Engine, settings: Settings,
                       clock: Callable[[], datetime]) -> None:
    """At 00:10 local on the 1st, and once at start-up (catching up the months the app was down for)."""
    scheduler.add_job(lambda: write_monthly(engine, clock(), settings.zone), "cron", day=1, hour=0, minute=10,
                      timezone=settings.zone, id="statements-monthly", next_run_time=datetime.now(timezone.utc))
