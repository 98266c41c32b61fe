"""/api/v1/gateways: list, create, read, edit, delete, activate and deactivate, by serial.

Writes go through tds_dash.fleet.actions (the gateways page's functions): same validation, role and
account checks, versions and audit rows. Responses carry `ETag: "<version>"`; a write naming a stale
version in If-Match is refused with 412, as the form refuses "someone else saved meanwhile".
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask

from tds_dash.api.common import (
    api_actor,
    blueprint,
    expect_saved,
    form_values,
    if_match,
    json_body,
    page_body,
    paging,
    plain,
    reject_unknown,
    with_etag,
)
from tds_dash.api.v1 import ApiError
from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.fleet import actions
from tds_dash.fleet import text as fleet_text
from tds_dash.fleet.actor import Actor
from tds_dash.queries import events, fleet
from tds_dash.queries.filters import list_accounts

STATUSES = ("online", "offline", "never", "inactive")
FIELDS = ("serial", "name", "location", "inactivity_timeout_s", "active")
RENAMES = {"account_id": "account"}
SHOWN = ("id", "serial", "name", "location", "account_id", "active", "inactivity_timeout_s", "status",
         "status_since", "status_reason", "last_seen_at", "seq_gaps", "devices", "version", "created_at")


def gateway_json(row: dict, now: datetime, language: str) -> dict:
    """A gateway as the gateways page shows it: status, since when, and why it is offline."""
    out = plain({key: row[key] for key in SHOWN})
    out.update(account=row["account_slug"], account_name=row["account"])
    offline = row["status"] == "offline"
    out["offline_reason"] = (fleet_text.offline_reason(row, now, services().settings.zone, language)
                             if offline else None)
    return out


def account_id_for(conn, actor: Actor, slug) -> int | None:
    """The id of an account of the caller's scope; -1 (no such choice) for any other slug, None when absent."""
    if slug in (None, ""):
        return None
    found = {a["slug"]: a["id"] for a in list_accounts(conn, actor.scope)}
    return found.get(str(slug), -1)


def _find(conn, actor: Actor, serial: str) -> dict:
    row = fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), serial=serial)
    if row is None:
        raise ApiError(404, "not_found", f"gateway {serial} not found")
    return row


def _read(actor: Actor, serial: str | None = None, gateway_id: int | None = None, status: int = 200):
    now = datetime.now(timezone.utc)
    with session_scope(actor.engine) as conn:
        row = fleet.get_gateway(conn, actor.scope, now, gateway_id, serial)
        if row is None:
            raise ApiError(404, "not_found", f"gateway {serial or gateway_id} not found")
        body = gateway_json(row, now, actor.language)
        body["uptime"] = events.uptime(conn, actor.scope, row["id"], now)
    return with_etag(body, status)


@blueprint.get("/gateways")
def list_gateways():
    """Gateways of the caller's accounts, filtered like the gateways page (account, status, search)."""
    actor, page, args = api_actor(), paging(), flask.request.args
    status = args.get("status", "").strip() or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid_parameter", f"'status' must be one of {', '.join(STATUSES)}", "status")
    now = datetime.now(timezone.utc)
    with session_scope(actor.engine) as conn:
        account_id = account_id_for(conn, actor, args.get("account", "").strip())
        result = fleet.list_gateways_page(conn, actor.scope, now, account_id=account_id,
                                          search=args.get("search", ""), status=status, offset=page.offset,
                                          limit=page.limit)
    return flask.jsonify(page_body([gateway_json(row, now, actor.language) for row in result.rows], result.total,
                                   page))


@blueprint.post("/gateways")
def create_gateway():
    """Register a gateway under one of the caller's accounts (operator or admin)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("account",) + FIELDS)
    with session_scope(actor.engine) as conn:
        account_id = account_id_for(conn, actor, body.get("account"))
    outcome = expect_saved(actions.submit_gateway({**form_values(body, FIELDS), "account_id": account_id}, None, actor), actor,
                           RENAMES)
    response = _read(actor, gateway_id=outcome.id, status=201)
    response.headers["Location"] = f"/api/v1/gateways/{response.json['serial']}"
    return response


@blueprint.get("/gateways/<serial>")
def get_gateway(serial: str):
    """One gateway with its status, why it is offline and its uptime over 24 h, 7 d and 30 d."""
    return _read(api_actor(), serial=serial)


@blueprint.patch("/gateways/<serial>")
def update_gateway(serial: str):
    """Change name, serial, location, timeout or active; the fields not sent keep their stored values."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, FIELDS)
    with session_scope(actor.engine) as conn:
        current = _find(conn, actor, serial)
    raw = {**{key: current[key] for key in FIELDS}, **form_values({"active": current["active"], **body}, FIELDS)}
    version = if_match()
    editing = {"id": current["id"], "version": current["version"] if version is None else version}
    expect_saved(actions.submit_gateway(raw, editing, actor), actor, RENAMES)
    return _read(actor, gateway_id=current["id"])


def _act(serial: str, action: str):
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        current = _find(conn, actor, serial)
    version = if_match()
    pending = {"action": action, "id": current["id"], "name": current["serial"],
               "version": current["version"] if version is None else version}
    return actor, current, expect_saved(actions.run_action("gateway", pending, False, actor), actor)


@blueprint.delete("/gateways/<serial>")
def delete_gateway(serial: str):
    """Delete a gateway and its devices; refused (409) when any of them has readings: deactivate it instead."""
    _, _, outcome = _act(serial, "delete")
    return flask.jsonify({"serial": serial, "done": outcome.done, "message": outcome.message})


@blueprint.post("/gateways/<serial>/deactivate")
def deactivate_gateway(serial: str):
    """Its messages are rejected (inactive_gateway) until it is activated again."""
    return _after_switch(serial, "deactivate")


@blueprint.post("/gateways/<serial>/activate")
def activate_gateway(serial: str):
    return _after_switch(serial, "activate")


def _after_switch(serial: str, action: str):
    actor, current, _ = _act(serial, action)
    return _read(actor, gateway_id=current["id"])
