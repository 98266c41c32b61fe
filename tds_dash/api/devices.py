"""/api/v1/devices: list, create, read, edit (with per-metric meter settings), delete or purge, by id.

Writes go through tds_dash.fleet.actions like the devices page: a device with readings asked to be
deleted is deactivated instead, and only `?purge=true` erases it with its readings and rollups. Responses
carry `ETag: "<version>"`; a write with a stale If-Match is refused with 412.
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask

from tds_dash.api.common import (
    api_actor,
    blueprint,
    expect_saved,
    flag,
    form_values,
    if_match,
    json_body,
    page_body,
    paging,
    plain,
    reject_unknown,
    with_etag,
)
from tds_dash.api.gateways import account_id_for
from tds_dash.api.v1 import ApiError
from tds_dash.db import session_scope
from tds_dash.fleet import actions
from tds_dash.fleet.actor import Actor
from tds_dash.queries import fleet, fleet_devices

STATUSES = ("online", "offline", "never", "inactive", "silent", "new")
FIELDS = ("code", "name", "kind", "active")
METRIC_FIELDS = ("meter_kind", "unit", "rollover_value", "usual_interval_s")
RENAMES = {"gateway_id": "gateway"}
SHOWN = ("id", "code", "name", "kind", "active", "provisioned", "is_new", "status", "silent_since", "gateway_id",
         "gateway", "account_id", "version", "created_at", "last_reading_at")


def device_json(row: dict) -> dict:
    out = plain({key: row.get(key) for key in SHOWN})
    if "metrics" in row:
        out["metrics"] = [plain({key: metric[key] for key in ("metric",) + METRIC_FIELDS}) for metric in row["metrics"]]
    return out


def parse_device_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, "not_found", f"device {raw} not found")
    return int(raw)


def _find(conn, actor: Actor, device_id: int) -> dict:
    row = fleet_devices.get_device(conn, actor.scope, device_id)
    if row is None:
        raise ApiError(404, "not_found", f"device {device_id} not found")
    return row


def _read(actor: Actor, device_id: int, status: int = 200):
    with session_scope(actor.engine) as conn:
        row = _find(conn, actor, device_id)
        last = fleet_devices.last_reading_at(conn, actor.scope, device_id)
    return with_etag(device_json({**row, "last_reading_at": last}), status)


def gateway_id_for(conn, actor: Actor, serial) -> int | None:
    """The id of a gateway of the caller's scope; -1 (no such choice) for any other serial, None when absent."""
    if serial in (None, ""):
        return None
    row = fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), serial=str(serial))
    return row["id"] if row else -1


@blueprint.get("/devices")
def list_devices():
    """Devices of the caller's accounts, filtered like the devices page (account, gateway, status, search)."""
    actor, page, args = api_actor(), paging(), flask.request.args
    status = args.get("status", "").strip() or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid_parameter", f"'status' must be one of {', '.join(STATUSES)}", "status")
    with session_scope(actor.engine) as conn:
        account_id = account_id_for(conn, actor, args.get("account", "").strip())
        gateway_id = gateway_id_for(conn, actor, args.get("gateway", "").strip())
        result = fleet_devices.list_devices_page(conn, actor.scope, account_id=account_id, gateway_id=gateway_id,
                                                 search=args.get("search", ""), status=status, offset=page.offset,
                                                 limit=page.limit)
    return flask.jsonify(page_body([device_json(row) for row in result.rows], result.total, page))


@blueprint.post("/devices")
def create_device():
    """Register a device under a gateway (by serial) of the caller's accounts (operator or admin)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("gateway",) + FIELDS)
    with session_scope(actor.engine) as conn:
        gateway_id = gateway_id_for(conn, actor, body.get("gateway"))
    raw = {"kind": "meter", **form_values(body, FIELDS), "gateway_id": gateway_id}
    outcome = expect_saved(actions.submit_device(raw, {}, None, actor), actor, RENAMES)
    response = _read(actor, outcome.id, 201)
    response.headers["Location"] = f"/api/v1/devices/{outcome.id}"
    return response


@blueprint.get("/devices/<device_id>")
def get_device(device_id: str):
    """One device with its status and per-metric meter settings."""
    return _read(api_actor(), parse_device_id(device_id))


def _metrics_raw(current: dict, sent) -> dict[int, dict]:
    """Every stored metric's settings, overridden by the ones sent ({metric name: {setting: value}})."""
    if sent is None:
        return {}
    if not isinstance(sent, dict) or not all(isinstance(value, dict) for value in sent.values()):
        raise ApiError(400, "invalid_body", "'metrics' must map metric names to objects of settings", "metrics")
    stored = {metric["metric"]: metric for metric in current["metrics"]}
    unknown = sorted(set(sent) - set(stored))
    if unknown:
        raise ApiError(400, "invalid_body", f"device has no metric {unknown[0]!r} yet (it appears with its first"
                                            " reading)", "metrics")
    for values in sent.values():
        reject_unknown(values, METRIC_FIELDS)
    return {metric["metric_id"]: {**{key: metric[key] for key in METRIC_FIELDS}, **sent.get(name, {})}
            for name, metric in stored.items()}


@blueprint.patch("/devices/<device_id>")
def update_device(device_id: str):
    """Change code, name, kind, active and meter settings; what is not sent keeps its stored value."""
    actor, body, device_id = api_actor(), json_body(), parse_device_id(device_id)
    reject_unknown(body, FIELDS + ("metrics",))
    with session_scope(actor.engine) as conn:
        current = _find(conn, actor, device_id)
    metrics = _metrics_raw(current, body.pop("metrics", None))
    raw = {**{key: current[key] for key in FIELDS}, **form_values({"active": current["active"], **body}, FIELDS)}
    names = {metric["metric_id"]: metric["metric"] for metric in current["metrics"]}
    version = if_match()
    editing = {"id": device_id, "version": current["version"] if version is None else version}
    outcome = actions.submit_device(raw, metrics, editing, actor)
    outcome.metric_errors = {names[key]: errors for key, errors in outcome.metric_errors.items()}
    expect_saved(outcome, actor, RENAMES)
    return _read(actor, device_id)


@blueprint.delete("/devices/<device_id>")
def delete_device(device_id: str):
    """Delete a device without readings; one with readings is deactivated, or with ?purge=true erased with them."""
    actor, device_id, purge = api_actor(), parse_device_id(device_id), flag("purge")
    with session_scope(actor.engine) as conn:
        current = _find(conn, actor, device_id)
    version = if_match()
    pending = {"action": "delete", "id": device_id, "name": current["code"],
               "version": current["version"] if version is None else version}
    outcome = expect_saved(actions.run_action("device", pending, purge, actor), actor)
    return flask.jsonify({"id": device_id, "done": outcome.done, "readings": outcome.readings,
                          "message": outcome.message})
