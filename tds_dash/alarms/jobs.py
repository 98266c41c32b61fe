"""The alarm jobs on the app's scheduler: evaluation (fast and slow rules), reminders and delivery."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from tds_dash.alarms import digest, evaluation, reminders, sender
from tds_dash.settings import Settings

SLOW_SECONDS = 60  # consumption rules read rollups that change by the hour: once a minute is plenty
SEND_SECONDS = 2
REMIND_SECONDS = 60
DIGEST_SECONDS = 60  # a digest leaves within a minute of the top of the hour


def mailer_for(settings: Settings) -> sender.Mailer:
    """The sender's SMTP, sender address, link base and zone from the settings."""
    return sender.Mailer(settings.smtp_url, settings.smtp_from, settings.public_url, settings.zone,
                         settings.webhook_allow_private)


def add_alarm_jobs(scheduler: BaseScheduler, engine: Engine, settings: Settings,
                   clock: Callable[[], datetime]) -> None:
    """Gateway/meter/ingest rules as often as presence changes; the grace period starts now."""
    grace = evaluation.Grace(clock(), timedelta(seconds=settings.alarm_grace))
    zone, mailer = settings.zone, mailer_for(settings)
    scheduler.add_job(evaluation.job(engine, clock, zone, evaluation.FAST_KINDS, grace, evaluation.FAST_LOCK_KEY),
                      "interval", seconds=settings.presence_check_seconds, id="alarms-fast")
    scheduler.add_job(evaluation.job(engine, clock, zone, evaluation.SLOW_KINDS, grace, evaluation.SLOW_LOCK_KEY),
                      "interval", seconds=SLOW_SECONDS, id="alarms-slow")
    scheduler.add_job(lambda: sender.send_due(engine, mailer, clock()), "interval", seconds=SEND_SECONDS,
                      id="notifications-send")
    scheduler.add_job(lambda: digest.build_due(engine, clock()), "interval", seconds=DIGEST_SECONDS,
                      id="notifications-digest")
    scheduler.add_job(lambda: reminders.renotify_due(engine, clock(), settings.alarm_renotify_hours), "interval",
                      seconds=REMIND_SECONDS, id="alarms-renotify")
