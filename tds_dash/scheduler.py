"""APScheduler wiring: small jobs, each opening its own connection."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from tds_dash.db import create_db_engine, session_scope
from tds_dash.queries import maintenance
from tds_dash.settings import Settings

log = logging.getLogger(__name__)


def prune_rejected_messages(engine, retention_days: int) -> None:
    """Keep the rejected-messages table bounded."""
    with session_scope(engine) as conn:
        removed = maintenance.delete_rejected_older_than(conn, retention_days)
    if removed:
        log.info("pruned %s rejected messages older than %s days", removed, retention_days)


def start_scheduler(settings: Settings) -> BackgroundScheduler:
    engine = create_db_engine(settings.database_url, pool_size=1)
    scheduler = BackgroundScheduler(timezone=settings.timezone, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(prune_rejected_messages, "interval", minutes=10, args=[engine, settings.rejected_retention_days],
                      id="prune-rejected-messages")
    scheduler.start()
    return scheduler
