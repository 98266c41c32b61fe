"""What the fleet pages' buttons do: validate, check role and scope, call one query function, say the outcome.

Pages call these from their callbacks; the rules (who may, what a delete becomes) live here, not in pages.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import flask

from tds_dash import i18n
from tds_dash.context import current_language, current_scope, current_user, has_role, services
from tds_dash.db import session_scope
from tds_dash.fleet import validation
from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries.users import record_audit

MANAGER_ROLES = ("admin", "operator")


@dataclasses.dataclass
class Outcome:
    """A button's result: form errors per field, an alert inside the form, or a message for the page."""

    saved: bool = False
    errors: dict[str, validation.FieldError] = dataclasses.field(default_factory=dict)
    metric_errors: dict[int, dict[str, validation.FieldError]] = dataclasses.field(default_factory=dict)
    form_alert: str | None = None
    message: str | None = None
    color: str = "success"


def _field_errors(result) -> dict[str, validation.FieldError]:
    """The data layer names problems by code; the forms show them as translated field errors."""
    return {field: validation.FieldError(code) for field, code in result.problems.items()}


def audit(conn, action: str, entity: str, entity_id: int, account_id: int | None, before: dict | None = None,
          after: dict | None = None) -> None:
    """One audit_log row in the transaction of the change it records (who, what, when, before/after)."""
    user = current_user()
    address = flask.request.remote_addr if flask.has_request_context() else None
    record_audit(conn, user.id if user else None, user.username if user else "system", action, entity, entity_id,
                 account_id, before, after, address)


def _audited(row: dict) -> dict:
    """The fields of a gateway/device row worth keeping in the audit log."""
    keep = ("serial", "code", "name", "location", "kind", "inactivity_timeout_s", "active", "version", "account_id",
            "gateway_id", "metrics")
    return {key: row[key] for key in keep if key in row}


def can_manage() -> bool:
    return has_role(*MANAGER_ROLES)


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


def device_form(device_id: int | None, gateway_id: int | None) -> DeviceForm:
    """A new device (under the filtered gateway, if any) or a stored one with its meter settings."""
    scope = current_scope()
    with session_scope(services().engine) as conn:
        gateways = fleet_devices.list_gateway_choices(conn, scope)
        device = fleet_devices.get_device(conn, scope, device_id) if device_id is not None else None
    if device is None:
        return DeviceForm({"gateway_id": gateway_id, "kind": "meter", "active": True}, gateways, None, [])
    editing = {"id": device["id"], "version": device["version"], "code": device["code"],
               "metrics": {str(m["metric_id"]): {"metric": m["metric"]} for m in device["metrics"]}}
    return DeviceForm(device, gateways, editing, device["metrics"])


def _refusal(status: str, language: str) -> Outcome:
    return Outcome(form_alert=i18n.t(f"fleet.{status}" if status in ("conflict", "missing") else "fleet.fix_fields",
                                     language))


def submit_gateway(raw: dict, editing: dict | None) -> Outcome:
    """Validate and save the gateway form; editing = {'id', 'version'} of the record the form was opened on."""
    language, scope = current_language(), current_scope()
    if not can_manage():
        return Outcome(form_alert=i18n.t("fleet.forbidden", language))
    with session_scope(services().engine) as conn:
        choosable = [a["id"] for a in fleet.list_accounts(conn, scope)]
        if editing:  # the account is fixed after creation: validate against the stored one
            current = fleet.get_gateway(conn, scope, datetime.now(timezone.utc), editing["id"])
            if current is None:
                return _refusal("missing", language)
            raw = {**raw, "account_id": current["account_id"]}
        values, errors = validation.validate_gateway({**raw, "account_id": to_int(raw.get("account_id"))}, choosable)
        if "serial" in values and fleet.serial_taken(conn, values["serial"], editing and editing["id"]):
            errors["serial"] = validation.FieldError("serial_taken")  # reported with the others, not after them
        if errors:
            return Outcome(errors=errors, form_alert=i18n.t("fleet.fix_fields", language))
        result = fleet.save_gateway(conn, scope, values, editing and editing["id"], editing and editing["version"])
        if result.ok:
            audit(conn, "update" if editing else "create", "gateway", result.id, values["account_id"],
                  _audited(current) if editing else None, values)
    if result.status == "invalid":
        return Outcome(errors=_field_errors(result), form_alert=i18n.t("fleet.fix_fields", language))
    if not result.ok:
        return _refusal(result.status, language)
    return Outcome(saved=True, message=i18n.t("fleet.saved", language, what=i18n.t("fleet.what.gateway", language),
                                              name=values["serial"]))


def submit_device(raw: dict, metrics_raw: dict[int, dict], editing: dict | None) -> Outcome:
    """Validate and save the device form and, when editing, its per-metric meter settings."""
    language, scope = current_language(), current_scope()
    if not can_manage():
        return Outcome(form_alert=i18n.t("fleet.forbidden", language))
    metric_values, metric_errors = [], {}
    for metric_id, row in metrics_raw.items():
        clean, errors = validation.validate_metric(row)
        if errors:
            metric_errors[metric_id] = errors
        metric_values.append({**clean, "metric_id": metric_id})
    with session_scope(services().engine) as conn:
        gateways = [g["id"] for g in fleet_devices.list_gateway_choices(conn, scope)]
        gateway_id = to_int(raw.get("gateway_id"))
        if editing:  # the gateway is fixed after creation (readings carry it)
            current = fleet_devices.get_device(conn, scope, editing["id"])
            if current is None:
                return _refusal("missing", language)
            gateway_id = current["gateway_id"]
        values, errors = validation.validate_device({**raw, "gateway_id": gateway_id}, gateways)
        if "code" in values and "gateway_id" in values and fleet_devices.code_taken(
                conn, values["code"], values["gateway_id"], editing and editing["id"]):
            errors["code"] = validation.FieldError("code_taken")
        if errors or metric_errors:
            return Outcome(errors=errors, metric_errors=metric_errors, form_alert=i18n.t("fleet.fix_fields", language))
        result = fleet_devices.save_device(conn, scope, values, editing and editing["id"],
                                           editing and editing["version"], metric_values, services().settings.timezone)
        if result.ok:
            saved = fleet_devices.get_device(conn, scope, result.id)
            audit(conn, "update" if editing else "create", "device", result.id, saved["account_id"],
                  _audited(current) if editing else None, _audited(saved))
    if result.status == "invalid":
        return Outcome(errors=_field_errors(result), form_alert=i18n.t("fleet.fix_fields", language))
    if not result.ok:
        return _refusal(result.status, language)
    if result.recomputed_since is not None:  # TimescaleDB: materialized buckets follow the new meter settings
        fleet_devices.refresh_continuous_aggregates(
            services().engine, fleet_devices.Span(result.recomputed_since, datetime.now(timezone.utc)))
    return Outcome(saved=True, message=i18n.t("fleet.saved", language, what=i18n.t("fleet.what.device", language),
                                              name=values["code"]))


def prepare_action(kind: str, action: str, row_id: int) -> tuple[str, dict, int] | None:
    """(question for the confirmation dialog, pending action at the row's current version, readings)."""
    language, scope = current_language(), current_scope()
    with session_scope(services().engine) as conn:
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


def switch_auto_provision(account_id: int, enabled: bool) -> str:
    """Turn auto-provisioning on/off for one account of the viewer's scope; returns what happened."""
    language = current_language()
    if not can_manage():
        return i18n.t("fleet.forbidden", language)
    with session_scope(services().engine) as conn:
        changed = fleet.set_auto_provision(conn, current_scope(), account_id, enabled)
    if not changed:
        return i18n.t("fleet.missing", language)
    return i18n.t("fleet.provisioning_on" if enabled else "fleet.provisioning_off", language)


def run_action(kind: str, pending: dict, purge: bool = False) -> Outcome:
    """Delete, purge, activate or deactivate the record the dialog was opened on (at that version)."""
    language, scope = current_language(), current_scope()
    if not can_manage():
        return Outcome(message=i18n.t("fleet.forbidden", language), color="danger")
    action, row_id, version = pending["action"], pending["id"], pending["version"]
    what, name = i18n.t(f"fleet.what.{kind}", language), pending.get("name", "")
    engine = services().engine
    with session_scope(engine) as conn:  # the tenant, for the audit log (never taken from the browser)
        row = (fleet.get_gateway(conn, scope, datetime.now(timezone.utc), row_id) if kind == "gateway"
               else fleet_devices.get_device(conn, scope, row_id))
    account_id = row["account_id"] if row else None
    if kind == "device" and action == "delete" and purge:
        record = lambda conn, done: audit(conn, "purge", "device", row_id, account_id,  # noqa: E731
                                          {**_audited(row), "readings": done.readings})
        result, action = fleet_devices.purge_device(engine, scope, row_id, version, record), "purge"
    else:
        with session_scope(engine) as conn:
            result, action = _apply(conn, scope, kind, action, row_id, version)
            if result.ok:
                audit(conn, action, kind, row_id, account_id, _audited(row))
    if result.status == "has_readings":
        return Outcome(message=i18n.t("fleet.gateway_has_readings", language, name=name, count=result.readings),
                       color="warning")
    if result.status in ("conflict", "missing"):
        return Outcome(message=i18n.t(f"fleet.{result.status}", language), color="danger")
    if action == "purge":
        count = i18n.format_number(result.readings, language, 0)
        return Outcome(saved=True, message=i18n.t("fleet.purged", language, name=name, count=count))
    done = {"delete": "deleted", "activate": "activated", "deactivate": "deactivated"}[action]
    return Outcome(saved=True, message=i18n.t(f"fleet.{done}", language, what=what, name=name))


def _apply(conn, scope, kind: str, action: str, row_id: int, version: int):
    """(result, what was actually done): deleting a device with readings deactivates it instead."""
    if kind == "gateway":
        if action == "delete":
            return fleet.delete_gateway(conn, scope, row_id, version), action
        return fleet.set_gateway_active(conn, scope, row_id, version, action == "activate"), action
    if action == "delete":
        result, _ = fleet_devices.delete_device(conn, scope, row_id, version)
        if result.status == "has_readings":  # a device with readings is deactivated, never silently erased
            return fleet_devices.set_device_active(conn, scope, row_id, version, False), "deactivate"
        return result, action
    return fleet_devices.set_device_active(conn, scope, row_id, version, action == "activate"), action
