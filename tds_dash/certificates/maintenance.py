"""Scheduler-ready CRL upkeep and the CRL figure /api/health shows."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from tds_dash.certificates.broker import SyncResult, sync_broker_files
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.crl import CrlStatus, crl_status, is_due, load_crl
from tds_dash.certificates.pki import load_or_create_authority, utc_now
from tds_dash.certificates.store import lock_broker_files
from tds_dash.db import session_scope
from tds_dash.settings import Settings

log = logging.getLogger(__name__)


def refresh_crl_if_due(engine: Engine, pki: PkiConfig, now: datetime | None = None) -> SyncResult | None:
    """Re-issue the CRL (and ACL, then SIGHUP) when less than a third of its lifetime is left.

    A CRL past nextUpdate makes Mosquitto refuse every client, so this runs often (hourly) and cheaply:
    nothing happens before the PKI exists or while the CRL is fresh.
    """
    now = now or utc_now()
    if not (pki.ca_external or pki.ca_cert_file.exists()) or not is_due(load_crl(pki.crl_file), now):
        return None
    with session_scope(engine) as conn:
        lock_broker_files(conn)
        if not is_due(load_crl(pki.crl_file), now):  # another process refreshed it while we waited
            return None
        result = sync_broker_files(conn, pki, load_or_create_authority(pki, create=False), now)
    log.info("CRL re-issued (%s); %s", pki.crl_file, result.detail)
    return result


def refresh_crl_job(engine: Engine, settings: Settings) -> None:
    """The scheduler's entry point (settings resolved at each run; errors logged, never raised into APScheduler)."""
    try:
        refresh_crl_if_due(engine, PkiConfig.from_settings(settings))
    except Exception:  # a failed run must show in the log and be retried next hour, not stop the scheduler
        log.exception("CRL refresh failed")


def crl_health(settings: Settings, now: datetime | None = None) -> dict:
    """{"status": ok|due|expired|absent, "next_update", "seconds_left"} of the broker's CRL file."""
    status: CrlStatus = crl_status(PkiConfig.from_settings(settings).crl_file, now or utc_now())
    return status.as_dict()
