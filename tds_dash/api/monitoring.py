"""/api/v1/events, /api/v1/rejected and /api/v1/presence/{serial}: what the events, rejected and gateway pages show."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import flask

from tds_dash import periods
from tds_dash.api.common import api_actor, blueprint, page_body, paging, plain
from tds_dash.api.devices import gateway_id_for
from tds_dash.api.gateways import account_id_for
from tds_dash.api.v1 import ApiError
from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.fleet import text as fleet_text
from tds_dash.queries import events, fleet
from tds_dash.queries import ingest as ingest_queries

DEFAULT_SPAN = timedelta(days=7)
REJECTED_LIMIT = 500


def _instant(name: str, default: datetime) -> datetime:
    raw = flask.request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return periods.parse_instant(raw, services().settings.zone)
    except periods.PeriodError as error:
        raise ApiError(400, "invalid_parameter", str(error), name) from None


def _kinds() -> list[str] | None:
    raw = flask.request.args.get("kind", "").strip()
    if not raw:
        return None
    kinds = [part.strip() for part in raw.split(",")]
    if not all(kind in events.EVENT_KINDS for kind in kinds):
        raise ApiError(400, "invalid_parameter", f"'kind' must be among {', '.join(events.EVENT_KINDS)}", "kind")
    return kinds


@blueprint.get("/events")
def list_events():
    """Fleet events overlapping [from, to) (default the last 7 days), newest first, each explained in words."""
    actor, page, args = api_actor(), paging(), flask.request.args
    now = datetime.now(timezone.utc)
    end = _instant("to", now + timedelta(seconds=1))
    start = _instant("from", end - DEFAULT_SPAN)
    if start >= end:
        raise ApiError(400, "invalid_range", "'from' must be before 'to'", "from")
    kinds, zone = _kinds(), services().settings.zone
    with session_scope(actor.engine) as conn:
        account_id = account_id_for(conn, actor, args.get("account", "").strip())
        gateway_id = gateway_id_for(conn, actor, args.get("gateway", "").strip())
        result = events.list_events_page(conn, actor.scope, start, end, account_id=account_id,
                                         gateway_id=gateway_id, kinds=kinds, offset=page.offset, limit=page.limit)
    rows = [{**plain(row), "explanation": fleet_text.explain_event(row, zone, actor.language)} for row in result.rows]
    return flask.jsonify(page_body(rows, result.total, page))


@blueprint.get("/rejected")
def list_rejected():
    """The newest rejected messages of the caller's accounts, optionally of one reason or gateway serial."""
    actor, args = api_actor(), flask.request.args
    raw_limit = args.get("limit", "").strip() or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= REJECTED_LIMIT:
        raise ApiError(400, "invalid_parameter", f"'limit' must be an integer from 1 to {REJECTED_LIMIT}", "limit")
    with session_scope(actor.engine) as conn:
        rows = ingest_queries.list_rejected(conn, actor.scope, args.get("reason", "").strip() or None,
                                            args.get("gateway", "").strip() or None, int(raw_limit))
    return flask.jsonify({"total": len(rows), "data": [plain(row) for row in rows]})


@blueprint.get("/presence/<serial>")
def get_presence(serial: str):
    """A gateway's online/offline intervals (newest first; the current one has no end) and its uptime."""
    actor, now = api_actor(), datetime.now(timezone.utc)
    limit = paging().limit
    with session_scope(actor.engine) as conn:
        gateway = fleet.get_gateway(conn, actor.scope, now, serial=serial)
        if gateway is None:
            raise ApiError(404, "not_found", f"gateway {serial} not found")
        history = events.gateway_history(conn, actor.scope, gateway["id"], limit)
        uptime = events.uptime(conn, actor.scope, gateway["id"], now)
    return flask.jsonify({"serial": gateway["serial"], "status": gateway["status"],
                          "status_since": plain(gateway["status_since"]), "uptime": uptime,
                          "intervals": [plain(row) for row in history]})
