"""APScheduler wiring: small jobs, each opening its own connection."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from ingest.presence import jobs as presence
from tds_dash.alarms.jobs import add_alarm_jobs
from tds_dash.db import create_db_engine, session_scope
from tds_dash.queries import maintenance
from tds_dash.settings import Settings

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
    scheduler.add_job(prune_rejected_messages, "interval", minutes=10,
                      args=[engine, settings.rejected_retention_days, settings.rejected_max_rows],
                      id="prune-rejected-messages")
    scheduler.start()
    return scheduler
