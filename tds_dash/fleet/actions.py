"""What the fleet pages' buttons do: validate, check role and scope, call one query function, say the outcome.

Pages call these from their callbacks, /api/v1 from its routes and the CLI from its commands; the rules
(who may, what a delete becomes) live here, not in their callers. Each takes an explicit Actor (who, which
scope, which engine); without one it acts for the signed-in user of the current request.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from tds_dash import i18n
from tds_dash.db import session_scope
from tds_dash.fleet import validation
from tds_dash.fleet.actor import MANAGER_ROLES, Actor, request_actor  # noqa: F401  MANAGER_ROLES re-exported
from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries.users import record_audit


@dataclasses.dataclass
class Outcome:
    """A button's result: form errors per field, an alert inside the form, or a message for the page.

    status says which for callers that are not forms (the API maps it to an HTTP status): ok | forbidden |
    invalid | missing | conflict | has_readings; done is what was actually done (deleted, deactivated, ...).
    """

    saved: bool = False
    errors: dict[str, validation.FieldError] = dataclasses.field(default_factory=dict)
    metric_errors: dict[int, dict[str, validation.FieldError]] = dataclasses.field(default_factory=dict)
    form_alert: str | None = None
    message: str | None = None
    color: str = "success"
    status: str = "ok"
    id: int | None = None
    version: int | None = None
    done: str | None = None
    readings: int = 0


def _field_errors(result) -> dict[str, validation.FieldError]:
    """The data layer names problems by code; the forms show them as translated field errors."""
    return {field: validation.FieldError(code) for field, code in result.problems.items()}


def audit(conn, action: str, entity: str, entity_id: int, account_id: int | None, before: dict | None = None,
          after: dict | None = None, actor: Actor | None = None) -> None:
    """One audit_log row in the transaction of the change it records (who, what, when, before/after)."""
    actor = actor or request_actor()
    record_audit(conn, actor.user_id, actor.username, action, entity, entity_id, account_id, before, after,
                 actor.address)


def _audited(row: dict) -> dict:
    """The fields of a gateway/device row worth keeping in the audit log."""
    keep = ("serial", "code", "name", "location", "kind", "inactivity_timeout_s", "active", "version", "account_id",
            "gateway_id", "metrics")
    return {key: row[key] for key in keep if key in row}


def can_manage(actor: Actor | None = None) -> bool:
    return (actor or request_actor()).can_manage


def to_int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass
class DeviceForm:
    """What the device form opens with: values, the choosable gateways, the record's version and metrics."""

    values: dict
    gateways: list[dict]
    editing: dict | None
    metrics: list[dict]


def device_form(device_id: int | None, gateway_id: int | None, actor: Actor | None = None) -> DeviceForm:
    """A new device (under the filtered gateway, if any) or a stored one with its meter settings."""
    actor = actor or request_actor()
    with session_scope(actor.engine) as conn:
        gateways = fleet_devices.list_gateway_choices(conn, actor.scope)
        device = fleet_devices.get_device(conn, actor.scope, device_id) if device_id is not None else None
    if device is None:
        return DeviceForm({"gateway_id": gateway_id, "kind": "meter", "active": True}, gateways, None, [])
    editing = {"id": device["id"], "version": device["version"], "code": device["code"],
               "metrics": {str(m["metric_id"]): {"metric": m["metric"]} for m in device["metrics"]}}
    return DeviceForm(device, gateways, editing, device["metrics"])


def _refusal(status: str, language: str) -> Outcome:
    key = f"fleet.{status}" if status in ("conflict", "missing", "forbidden") else "fleet.fix_fields"
    return Outcome(form_alert=i18n.t(key, language), status=status)


def _invalid(errors: dict, language: str, metric_errors: dict | None = None) -> Outcome:
    return Outcome(errors=errors, metric_errors=metric_errors or {}, form_alert=i18n.t("fleet.fix_fields", language),
                   status="invalid")


def submit_gateway(raw: dict, editing: dict | None, actor: Actor | None = None) -> Outcome:
    """Validate and save the gateway form; editing = {'id', 'version'} of the record the form was opened on."""
    actor = actor or request_actor()
    if not actor.can_manage:
        return _refusal("forbidden", actor.language)
    with session_scope(actor.engine) as conn:
        return save_gateway_in(conn, actor, raw, editing)


def save_gateway_in(conn, actor: Actor, raw: dict, editing: dict | None, choosable: list[int] | None = None
                    ) -> Outcome:
    """submit_gateway inside the caller's transaction (a bulk import runs many in one); role checked by caller."""
    language, scope = actor.language, actor.scope
    if choosable is None:
        choosable = [a["id"] for a in fleet.list_accounts(conn, scope)]
    current = None
    if editing:  # the account is fixed after creation: validate against the stored one
        current = fleet.get_gateway(conn, scope, datetime.now(timezone.utc), editing["id"])
        if current is None:
            return _refusal("missing", language)
        raw = {**raw, "account_id": current["account_id"]}
    values, errors = validation.validate_gateway({**raw, "account_id": to_int(raw.get("account_id"))}, choosable)
    if "serial" in values and fleet.serial_taken(conn, values["serial"], editing and editing["id"]):
        errors["serial"] = validation.FieldError("serial_taken")  # reported with the others, not after them
    if errors:
        return _invalid(errors, language)
    result = fleet.save_gateway(conn, scope, values, editing and editing["id"], editing and editing["version"])
    if result.status == "invalid":
        return _invalid(_field_errors(result), language)
    if not result.ok:
        return _refusal(result.status, language)
    audit(conn, "update" if editing else "create", "gateway", result.id, values["account_id"],
          _audited(current) if editing else None, values, actor)
    change = _broker_change(current, values)
    if change and actor.on_gateway_change is not None:
        actor.on_gateway_change(conn, change, values["serial"], (actor.user_id, actor.username))
    return Outcome(saved=True, id=result.id, version=result.version, done="saved", message=i18n.t(
        "fleet.saved", language, what=i18n.t("fleet.what.gateway", language), name=values["serial"]))


def _broker_change(current: dict | None, values: dict) -> str | None:
    """What an edit means to the broker: a new serial voids the certificates (CN = the old serial)."""
    if current is None:
        return None  # a new gateway has no certificate yet
    if values.get("serial", current["serial"]) != current["serial"]:
        return "rename"
    if values.get("active", current["active"]) != current["active"]:
        return "activate" if values["active"] else "deactivate"
    return None


def _clean_metrics(metrics_raw: dict[int, dict]) -> tuple[list[dict], dict[int, dict]]:
    metric_values, metric_errors = [], {}
    for metric_id, row in metrics_raw.items():
        clean, errors = validation.validate_metric(row)
        if errors:
            metric_errors[metric_id] = errors
        metric_values.append({**clean, "metric_id": metric_id})
    return metric_values, metric_errors


def submit_device(raw: dict, metrics_raw: dict[int, dict], editing: dict | None, actor: Actor | None = None
                  ) -> Outcome:
    """Validate and save the device form and, when editing, its per-metric meter settings."""
    actor = actor or request_actor()
    if not actor.can_manage:
        return _refusal("forbidden", actor.language)
    with session_scope(actor.engine) as conn:
        outcome, since = _save_device(conn, actor, raw, metrics_raw, editing, None)
    if since is not None:  # TimescaleDB: materialized buckets follow the new meter settings
        fleet_devices.refresh_continuous_aggregates(actor.engine, fleet_devices.Span(since, datetime.now(timezone.utc)))
    return outcome


def save_device_in(conn, actor: Actor, raw: dict, gateways: list[int] | None = None) -> Outcome:
    """A new device inside the caller's transaction (a bulk import runs many in one); role checked by caller."""
    return _save_device(conn, actor, raw, {}, None, gateways)[0]


def _save_device(conn, actor: Actor, raw: dict, metrics_raw: dict[int, dict], editing: dict | None,
                 gateways: list[int] | None) -> tuple[Outcome, datetime | None]:
    language, scope = actor.language, actor.scope
    metric_values, metric_errors = _clean_metrics(metrics_raw)
    if gateways is None:
        gateways = [g["id"] for g in fleet_devices.list_gateway_choices(conn, scope)]
    gateway_id, current = to_int(raw.get("gateway_id")), None
    if editing:  # the gateway is fixed after creation (readings carry it)
        current = fleet_devices.get_device(conn, scope, editing["id"])
        if current is None:
            return _refusal("missing", language), None
        gateway_id = current["gateway_id"]
    values, errors = validation.validate_device({**raw, "gateway_id": gateway_id}, gateways)
    if "code" in values and "gateway_id" in values and fleet_devices.code_taken(
            conn, values["code"], values["gateway_id"], editing and editing["id"]):
        errors["code"] = validation.FieldError("code_taken")
    if errors or metric_errors:
        return _invalid(errors, language, metric_errors), None
    result = fleet_devices.save_device(conn, scope, values, editing and editing["id"], editing and editing["version"],
                                       metric_values, actor.timezone)
    if result.status == "invalid":
        return _invalid(_field_errors(result), language), None
    if not result.ok:
        return _refusal(result.status, language), None
    saved = fleet_devices.get_device(conn, scope, result.id)
    audit(conn, "update" if editing else "create", "device", result.id, saved["account_id"],
          _audited(current) if editing else None, _audited(saved), actor)
    message = i18n.t("fleet.saved", language, what=i18n.t("fleet.what.device", language), name=values["code"])
    return Outcome(saved=True, id=result.id, version=result.version, done="saved", message=message), \
        result.recomputed_since


def prepare_action(kind: str, action: str, row_id: int, actor: Actor | None = None
                   ) -> tuple[str, dict, int] | None:
    """(question for the confirmation dialog, pending action at the row's current version, readings)."""
    actor = actor or request_actor()
    language, scope = actor.language, actor.scope
    with session_scope(actor.engine) as conn:
        if kind == "gateway":
            row = fleet.get_gateway(conn, scope, datetime.now(timezone.utc), row_id)
            readings = 0
        else:
            row = fleet_devices.get_device(conn, scope, row_id)
            readings = fleet_devices.reading_count(conn, scope, row_id) if row else 0
    if row is None:
        return None
    name = row["serial"] if kind == "gateway" else row["code"]
    key = f"fleet.ask.{action}.{kind}" + ("_readings" if readings and action == "delete" else "")
    question = i18n.t(key, language, name=name, count=i18n.format_number(readings, language, 0))
    return question, {"action": action, "id": row["id"], "version": row["version"], "name": name}, readings


def switch_auto_provision(account_id: int, enabled: bool, actor: Actor | None = None) -> str:
    """Turn auto-provisioning on/off for one account of the viewer's scope; returns what happened."""
    return switch_auto_provision_outcome(account_id, enabled, actor).message


def switch_auto_provision_outcome(account_id: int, enabled: bool, actor: Actor | None = None) -> Outcome:
    """switch_auto_provision with its status (forbidden, missing, ok), audited like every fleet write."""
    actor = actor or request_actor()
    if not actor.can_manage:
        return Outcome(message=i18n.t("fleet.forbidden", actor.language), status="forbidden", color="danger")
    with session_scope(actor.engine) as conn:
        changed = fleet.set_auto_provision(conn, actor.scope, account_id, enabled)
        if changed:
            audit(conn, "update", "account", account_id, account_id, None, {"auto_provision": bool(enabled)}, actor)
    if not changed:
        return Outcome(message=i18n.t("fleet.missing", actor.language), status="missing", color="danger")
    key = "fleet.provisioning_on" if enabled else "fleet.provisioning_off"
    return Outcome(saved=True, id=account_id, done="saved", message=i18n.t(key, actor.language))


def run_action(kind: str, pending: dict, purge: bool = False, actor: Actor | None = None) -> Outcome:
    """Delete, purge, activate or deactivate the record the dialog was opened on (at that version)."""
    actor = actor or request_actor()
    language, scope, engine = actor.language, actor.scope, actor.engine
    if not actor.can_manage:
        return Outcome(message=i18n.t("fleet.forbidden", language), color="danger", status="forbidden")
    action, row_id, version = pending["action"], pending["id"], pending["version"]
    what, name = i18n.t(f"fleet.what.{kind}", language), pending.get("name", "")
    with session_scope(engine) as conn:  # the tenant, for the audit log (never taken from the browser)
        row = (fleet.get_gateway(conn, scope, datetime.now(timezone.utc), row_id) if kind == "gateway"
               else fleet_devices.get_device(conn, scope, row_id))
    if row is None:
        return Outcome(message=i18n.t("fleet.missing", language), color="danger", status="missing")
    if kind == "device" and action == "delete" and purge:
        record = lambda conn, done: audit(conn, "purge", "device", row_id, row["account_id"],  # noqa: E731
                                          {**_audited(row), "readings": done.readings}, None, actor)
        result, action = fleet_devices.purge_device(engine, scope, row_id, version, record), "purge"
    else:
        with session_scope(engine) as conn:
            result, action = _apply(conn, actor, kind, action, row, version)
            if result.ok:
                audit(conn, action, kind, row_id, row["account_id"], _audited(row), None, actor)
    return _action_outcome(result, action, what, name, language)


def _action_outcome(result, action: str, what: str, name: str, language: str) -> Outcome:
    if result.status == "has_readings":
        return Outcome(message=i18n.t("fleet.gateway_has_readings", language, name=name, count=result.readings),
                       color="warning", status="has_readings", readings=result.readings)
    if result.status in ("conflict", "missing"):
        return Outcome(message=i18n.t(f"fleet.{result.status}", language), color="danger", status=result.status)
    done = {"delete": "deleted", "activate": "activated", "deactivate": "deactivated", "purge": "purged"}[action]
    if action == "purge":
        count = i18n.format_number(result.readings, language, 0)
        return Outcome(saved=True, message=i18n.t("fleet.purged", language, name=name, count=count), id=result.id,
                       done=done, readings=result.readings)
    return Outcome(saved=True, message=i18n.t(f"fleet.{done}", language, what=what, name=name), id=result.id,
                   version=result.version, done=done)


def _apply(conn, actor: Actor, kind: str, action: str, row: dict, version: int):
    """(result, what was actually done): deleting a device with readings deactivates it instead."""
    scope, row_id = actor.scope, row["id"]
    if kind == "gateway":
        return _apply_gateway(conn, actor, action, row, version), action
    if action == "delete":
        result, _ = fleet_devices.delete_device(conn, scope, row_id, version)
        if result.status == "has_readings":  # a device with readings is deactivated, never silently erased
            return fleet_devices.set_device_active(conn, scope, row_id, version, False), "deactivate"
        return result, action
    return fleet_devices.set_device_active(conn, scope, row_id, version, action == "activate"), action


def _apply_gateway(conn, actor: Actor, action: str, row: dict, version: int):
    """Delete or (de)activate a gateway; the broker's files follow in the same transaction (on_gateway_change)."""
    hook = actor.on_gateway_change
    tell = (lambda: hook(conn, action, row["serial"], (actor.user_id, actor.username))) if hook else None  # noqa: E731
    if action == "delete":
        return fleet.delete_gateway(conn, actor.scope, row["id"], version, before_delete=tell)
    result = fleet.set_gateway_active(conn, actor.scope, row["id"], version, action == "activate")
    if result.ok and tell is not None:
        tell()
    return result
