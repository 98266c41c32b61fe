"""Warming the running month's cost reads before anyone asks: after local midnight, each hour, a tariff edit.

The first cost read of a day (a new prefix up to yesterday, today's hours of every device) or after a version
or surcharge edit (month_terms moved) prices what later reads find cached: 140–310 ms for 1,000 devices, more
than a second when the month's prefix is priced again (bench/RESULTS.md). A scheduler job asks the same
questions first, per account with a tariff: the overview's card (month_cost.card_spans: this month so far and
up to the last whole hour, last month's same part) and the running month to its end (the explorer's, the API's
and the overview bars' end: tariffs/today_cache.py keys entries by the span's end, not its start), today's
hours priced once per device for all three ends. It leaves the caches in exactly the state those reads would.

What it warms lives in two places:
- the database (the month's prefix, sql/095; last month's cut prefix, sql/096), shared by every process:
  priced once. Each tariff is warmed in one transaction holding pg_advisory_xact_lock(LOCK_KEY, tariff): a
  second process waits for the first's commit, then finds those rows valid and prices none of them again;
- each process's today cache (in memory): every process warms its own (the job runs in every process that
  runs the scheduler), pricing only today's hours, from the shared prefix.
A run asks again only when something those reads depend on moved since this process last warmed the tariff:
the local day, the hour (the card's ends) or month_terms (an edit, in any process). It runs every
TDS_COST_WARM_SECONDS (60 s by default; 0: off), so within that of midnight, an hour or an edit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from tds_dash import periods
from tds_dash.consumption.month_cost import price_card
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.settings import Settings
from tds_dash.tariffs import month_cache, service

log = logging.getLogger(__name__)
LOCK_KEY = 7_301_097  # any fixed number, the same in every process of this app


class CostWarmer:
    """The job's body; remembers (per tariff) what this process last warmed. Only the scheduler thread calls it."""

    def __init__(self, engine: Engine, zone: ZoneInfo) -> None:
        self.engine, self.zone = engine, zone
        self.warmed: dict[int, tuple] = {}  # tariff id → (day, hour, month_terms) last warmed here

    def run(self, now: datetime) -> dict[str, int]:
        """Warm every tariff whose day, hour or terms moved; counts by outcome."""
        counts = {"warmed": 0, "unchanged": 0, "failed": 0}
        with session_scope(self.engine) as conn:
            if not month_cache.cache_enabled(conn, self.zone):
                return counts  # no stamps (TimescaleDB, another zone): every read is priced live, nothing to warm
            tariffs = service.list_tariffs(conn, ALL_ACCOUNTS)
        for tariff in tariffs:
            try:
                counts[self._warm(tariff, now)] += 1
            except Exception:  # one account's defect must not keep the others from being warmed
                counts["failed"] += 1
                log.exception("cost warm-up of tariff %s (account %s) failed", tariff.id, tariff.account_id)
        if counts["warmed"] or counts["failed"]:
            log.info("cost caches warmed: %s", counts)
        return counts

    def _warm(self, listed, now: datetime) -> str:
        zone, scope = self.zone, Scope((listed.account_id,))
        today = now.astimezone(zone).date()
        month = today.replace(day=1)
        with session_scope(self.engine) as conn:
            tariff = service.get_tariff(conn, scope, listed.account_id, listed.metric)
            if tariff is None:  # deleted since it was listed
                return "unchanged"
            state = (today, periods.floor_hour(now, zone), month_cache.month_terms(tariff, month, zone))
            if self.warmed.get(tariff.id) == state:
                return "unchanged"
            # Another process warming this tariff: wait for its commit, then its rows are read, not priced.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key, CAST(:tariff AS integer))"),
                         {"key": LOCK_KEY, "tariff": tariff.id})
            # On the 1st nothing of the month is cached yet: its reads price it live, so only last month's
            # part (its cut prefix, in the database) is warmed.
            price_card(conn, scope, tariff.account_id, tariff.metric, now, zone, through_month_end=True,
                       current=today != month)
        self.warmed[tariff.id] = state
        return "warmed"


def add_cost_warmup_job(scheduler: BaseScheduler, engine: Engine, settings: Settings,
                        clock: Callable[[], datetime]) -> None:
    """Every cost_warm_seconds, from start-up on (a process starting mid-day warms its own cache at once)."""
    if settings.cost_warm_seconds <= 0:
        return
    warmer = CostWarmer(engine, settings.zone)
    scheduler.add_job(lambda: warmer.run(clock()), "interval", seconds=settings.cost_warm_seconds,
                      id="cost-warmup", next_run_time=datetime.now(timezone.utc))
