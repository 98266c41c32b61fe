"""APScheduler wiring: small jobs, each opening its own connection."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from ingest.presence import jobs as presence
from tds_dash.alarms.jobs import add_alarm_jobs
from tds_dash.certificates.maintenance import refresh_crl_job
from tds_dash.consumption.cost_warmup import add_cost_warmup_job
from tds_dash.db import create_db_engine, session_scope
from tds_dash.queries import login_attempts, maintenance
from tds_dash.queries import sessions as session_queries
from tds_dash.settings import Settings
from tds_dash.statements.jobs import add_statement_jobs

log = logging.getLogger(__name__)


def prune_rejected_messages(engine, retention_days: int, max_rows: int | None = None) -> None:
    """Keep the rejected-messages table bounded by age and by count; ingest figures by age."""
    with session_scope(engine) as conn:
        removed = maintenance.delete_rejected_older_than(conn, retention_days)
        if max_rows is not None:
            removed += maintenance.delete_rejected_beyond(conn, max_rows)
        maintenance.delete_ingest_minutes_older_than(conn, retention_days)
    if removed:
        log.info("pruned %s rejected messages (older than %s days or beyond the newest %s)", removed,
                 retention_days, max_rows)


# Sign-in attempts are kept past the throttle's 30-day "known address" window; ended sessions a day.
LOGIN_ATTEMPTS_RETENTION = timedelta(days=31)
ENDED_SESSIONS_RETENTION = timedelta(days=1)


def prune_auth_records(engine) -> None:
    """Keep login_attempts and user_sessions bounded: old attempts, sessions ended or expired."""
    with session_scope(engine) as conn:
        attempts = login_attempts.prune_login_attempts(conn, LOGIN_ATTEMPTS_RETENTION)
        ended = session_queries.prune_sessions(conn, ENDED_SESSIONS_RETENTION)
    if attempts or ended:
        log.info("pruned %s sign-in attempts and %s ended sessions", attempts, ended)


BURST_WINDOW = timedelta(minutes=5)
DEVICE_CHECK_SECONDS = 30  # silence is 3x an interval of minutes: 30 s granularity is plenty


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def add_presence_jobs(scheduler: BackgroundScheduler, engine, settings: Settings,
                      clock: Callable[[], datetime]) -> None:
    """Offline detection every presence_check_seconds (<= 5 s), so a gateway is declared offline at most
    ~5 s after its timeout, whatever the timeout; advisory locks make each run count once across processes."""
    flap_window = timedelta(minutes=settings.flap_window_minutes)
    scheduler.add_job(lambda: presence.check_gateways(engine, clock(), flap_window), "interval",
                      seconds=settings.presence_check_seconds, id="presence-gateways")
    scheduler.add_job(lambda: presence.check_devices(engine, clock()), "interval", seconds=DEVICE_CHECK_SECONDS,
                      id="presence-devices")
    scheduler.add_job(lambda: presence.check_rejected_bursts(engine, clock(), BURST_WINDOW, settings.rejected_burst),
                      "interval", seconds=DEVICE_CHECK_SECONDS, id="rejected-bursts")


def start_scheduler(settings: Settings, clock: Callable[[], datetime] = utc_now) -> BackgroundScheduler:
    """Start the jobs; `clock` is injectable so tests can move presence time without sleeping."""
    engine = create_db_engine(settings.database_url, pool_size=1)
    scheduler = BackgroundScheduler(timezone=settings.timezone, job_defaults={"coalesce": True, "max_instances": 1})
    add_presence_jobs(scheduler, engine, settings, clock)
    add_alarm_jobs(scheduler, engine, settings, clock)
    add_statement_jobs(scheduler, engine, settings, clock)
    add_cost_warmup_job(scheduler, engine, settings, clock)
    scheduler.add_job(prune_rejected_messages, "interval", minutes=10,
                      args=[engine, settings.rejected_retention_days, settings.rejected_max_rows],
                      id="prune-rejected-messages")
    scheduler.add_job(prune_auth_records, "interval", hours=1, args=[engine], id="prune-auth-records")
    scheduler.add_job(refresh_crl_job, "interval", hours=1, args=[engine, settings], id="refresh-crl",
                      next_run_time=datetime.now(timezone.utc))  # at start too: the app may have been down for weeks
    scheduler.start()
    return scheduler
