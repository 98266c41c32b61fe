"""JSON endpoints beside the Dash pages."""
from __future__ import annotations

from datetime import datetime, timezone

import flask
import sqlalchemy as sa

from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.queries.health import fetch_health

blueprint = flask.Blueprint("api", __name__, url_prefix="/api")

# No commit for this long while messages wait in the queue means ingest is stalled.
STALL_SECONDS = 60


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def _ingest_status(background, now: datetime) -> tuple[dict, bool]:
    if background is None or background.ingest is None:
        return {"status": "disabled"}, True
    handle = background.ingest
    stats = handle.stats.snapshot()
    depth = handle.queue_depth()
    last_commit = stats["last_commit_at"]
    age = (now - last_commit).total_seconds() if last_commit else None
    stalled = not handle.writer.is_alive() or (depth > 0 and age is not None and age > STALL_SECONDS)
    status = {
        "status": "stalled" if stalled else "ok",
        "broker_connected": handle.subscriber.connected.is_set(),
        "queue_depth": depth,
        "last_commit_at": _iso(last_commit),
        "last_commit_age_s": round(age, 3) if age is not None else None,
        "messages": stats["messages"],
        "readings_stored": stats["readings_stored"],
        "readings_duplicate": stats["readings_duplicate"],
        "rejections": stats["rejections"],
        "last_error": stats["last_error"],
    }
    return status, not stalled and handle.subscriber.connected.is_set()


@blueprint.get("/health")
def health():
    """Per-component status; 503 when the database is unreachable or ingest is stalled or disconnected."""
    now = datetime.now(timezone.utc)
    app_services = services()
    body: dict = {"time": _iso(now)}
    healthy = True
    try:
        with session_scope(app_services.engine) as conn:
            db = fetch_health(conn)
        body["database"] = {"status": "ok", "readings_estimate": db["readings_estimate"],
                            "has_readings": db["has_readings"], "last_reading_at": _iso(db["last_reading_at"]),
                            "last_message_at": _iso(db["last_message_at"]), "rejected_total": db["rejected_total"]}
    except sa.exc.SQLAlchemyError as error:
        healthy = False
        body["database"] = {"status": "unreachable", "error": str(error.__cause__ or error)[:300]}
    body["ingest"], ingest_ok = _ingest_status(app_services.background, now)
    healthy = healthy and ingest_ok
    body["status"] = "ok" if healthy else "degraded"
    return flask.jsonify(body), (200 if healthy else 503)
