"""JSON endpoints beside the Dash pages."""
from __future__ import annotations

from datetime import datetime, timezone

import flask
import sqlalchemy as sa

from tds_dash.certificates.maintenance import crl_health
from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.queries.health import fetch_health

blueprint = flask.Blueprint("api", __name__, url_prefix="/api")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def current_ingest(background):
    """(supervisor or handle, running IngestHandle or None); the tests' handles have no supervisor."""
    part = getattr(background, "ingest", None) if background is not None else None
    if part is None:
        return None, None
    return part, (part.current() if hasattr(part, "current") else part)


def _ingest_status(background, now: datetime, stall_seconds: int) -> tuple[dict, bool]:
    part, handle = current_ingest(background)
    if part is None:
        return {"status": "disabled"}, True
    if handle is None:  # another process holds every ingest slot: healthy, waiting to take over
        return {"status": getattr(part, "state", "standby")}, True
    stats = handle.stats.snapshot()
    depth = handle.queue_depth()
    last_commit = stats["last_commit_at"]
    age = (now - last_commit).total_seconds() if last_commit else None
    busy = stats["busy_seconds"]  # a batch taken and not committed yet (database slow or unreachable)
    stalled = (not handle.writer.is_alive() or (busy is not None and busy > stall_seconds)
               or (depth > 0 and age is not None and age > stall_seconds))
    connected = handle.subscriber.connected.is_set()
    status = {
        "status": "stalled" if stalled else ("ok" if connected else "disconnected"),
        "slot": getattr(part, "slot", None),
        "broker_connected": connected,
        "queue_depth": depth,
        "queue_weight": handle.inbox.qsize(),  # readings + 1 per message: what the capacity bounds
        "queue_capacity": handle.inbox.maxsize,
        "queue_high_water": stats["queue_high_water"],
        "last_commit_at": _iso(last_commit),
        "last_commit_age_s": round(age, 3) if age is not None else None,
        "uncommitted_batch_age_s": round(busy, 3) if busy is not None else None,
        **{key: stats[key] for key in ("received", "messages", "acknowledged", "readings_stored",
                                       "readings_duplicate", "seq_gaps", "rejections", "last_error")},
    }
    return status, not stalled and connected


def _history_status(background) -> dict | None:
    """The demo's background history load, when there is one: loading with its progress, or complete."""
    history = getattr(background, "history", None) if background is not None else None
    if history is None:
        return None
    if history.loading:
        # progress covers both phases (readings written, then rolled up): never 1 while loading
        return {"status": "loading", "progress": min(0.999, round(history.fraction, 3)), "phase": history.phase,
                "readings": dict(history.readings)}
    return {"status": "failed" if history.error else "complete", "seconds": history.seconds}


@blueprint.get("/health")
def health():
    """Per-component status; 503 when the database is unreachable or ingest is stalled or disconnected."""
    now = datetime.now(timezone.utc)
    app_services = services()
    body: dict = {"time": _iso(now)}
    healthy = True
    try:
        with session_scope(app_services.health_engine or app_services.engine) as conn:
            db = fetch_health(conn)
        body["database"] = {"status": "ok", "readings_estimate": db["readings_estimate"],
                            "has_readings": db["has_readings"], "last_reading_at": _iso(db["last_reading_at"]),
                            "last_message_at": _iso(db["last_message_at"]), "rejected_total": db["rejected_total"]}
    except sa.exc.SQLAlchemyError as error:
        healthy = False
        body["database"] = {"status": "unreachable", "error": str(error.__cause__ or error)[:300]}
    body["ingest"], ingest_ok = _ingest_status(app_services.background, now,
                                               app_services.settings.ingest_stall_seconds)
    healthy = healthy and ingest_ok
    history = _history_status(app_services.background)
    if history is not None:
        body["history"] = history
    body["crl"] = crl_health(app_services.settings)  # informational: an expired CRL locks out every gateway
    body["status"] = "ok" if healthy else "degraded"
    return flask.jsonify(body), (200 if healthy else 503)
