"""The devices list and its form, including each metric's meter kind, unit, rollover and usual interval."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n
from tds_dash.fleet import components as fleet_components
from tds_dash.fleet import ids as fleet_ids
from tds_dash.fleet import text as fleet_text
from tds_dash.fleet import validation
from tds_dash.fleet.validation import FieldError

FORM = "devices"
STATUSES = ("online", "offline", "silent", "never", "inactive", "new")
KINDS = ('energy_meter', 'water_meter', 'gas_meter', 'temperature_sensor', 'meter', 'other')  # labels: devices.kind.<kind> in the catalogue


def columns(language: str) -> list[tuple[str | None, str]]:
    return [("code", i18n.t("devices.code", language)), ("name", i18n.t("devices.name", language)),
            (None, i18n.t("devices.kind", language)), ("gateway", i18n.t("devices.gateway", language)),
            ("account", i18n.t("devices.account", language)), ("status", i18n.t("fleet.status", language)),
            (None, i18n.t("devices.last_reading", language)), (None, i18n.t("fleet.actions", language))]


def rows(devices: list[dict], now: datetime, zone: ZoneInfo, language: str, can_manage: bool) -> list[html.Tr]:
    out = []
    for device in devices:
        badges = [fleet_components.status_badge(device["status"], language)]
        if device["is_new"]:
            badges.append(fleet_components.status_badge("new", language))
        cells = [
            html.Td(dcc.Link(device["code"], href=f"/device/{device['id']}")), html.Td(device["name"]),
            html.Td(i18n.t(f"devices.kind.{device['kind']}", language) if device["kind"] in KINDS
                    else device["kind"]),
            html.Td(dcc.Link(device["gateway"], href=f"/gateways/{device['gateway']}")), html.Td(device["account"]),
            html.Td(badges),
            html.Td(fleet_text.seen_text(device["last_reading_at"], now, zone, language) if device["last_reading_at"]
                    else "—", className="small"),
        ]
        if can_manage:
            cells.append(fleet_components.action_buttons(FORM, device, language))
        out.append(html.Tr(cells, id=f"devices-row-{device['gateway']}-{device['code']}"))
    return out


def form_body(values: dict, errors: dict[str, FieldError], gateways: list[dict], editing: dict | None,
              language: str, metrics: list[dict], metric_errors: dict, alert: str | None = None) -> list:
    """The device form; metrics are rows of device_metrics (stored or as submitted), each with its errors."""
    field = lambda name, key, control, help_=None: fleet_components.form_field(  # noqa: E731
        FORM, name, i18n.t(key, language), control, errors, language, help_)
    title = (i18n.t("devices.edit_title", language, code=editing.get("code", "")) if editing
             else i18n.t("devices.new_title", language))
    gateway_options = [{"label": f"{g['serial']} · {g['name']}", "value": g["id"]} for g in gateways]
    kind_options = [{"label": i18n.t(f"devices.kind.{k}", language), "value": k} for k in validation.DEVICE_KINDS]
    return [
        html.H5(title, className="mb-3"),
        dbc.Alert(alert, color="danger", id="devices-form-alert") if alert else None,
        field("gateway_id", "devices.gateway",
              fleet_components.select(FORM, "gateway_id", values.get("gateway_id"), gateway_options, errors,
                                disabled=bool(editing)),
              i18n.t("devices.gateway_fixed", language) if editing else None),
        field("code", "devices.code", fleet_components.text_input(FORM, "code", values.get("code"), errors),
              i18n.t("devices.code_help", language)),
        field("name", "devices.name", fleet_components.text_input(FORM, "name", values.get("name"), errors)),
        field("kind", "devices.kind", fleet_components.select(FORM, "kind", values.get("kind") or "meter", kind_options,
                                                        errors)),
        fleet_components.switch(FORM, "active", i18n.t("fleet.active", language), values.get("active", True)),
        metrics_table(metrics, metric_errors, language) if editing else None,
    ]


def metrics_table(metrics: list[dict], metric_errors: dict, language: str):
    if not metrics:
        return html.P(i18n.t("devices.metrics_none", language), className="text-muted small mt-3")
    header = html.Thead(html.Tr([html.Th(i18n.t(key, language)) for key in (
        "devices.metric", "devices.meter_kind", "devices.unit", "devices.rollover", "devices.interval")]))
    body = [html.Tr([html.Td(m["metric"])] + _metric_cells(m, metric_errors.get(m["metric_id"], {}), language))
            for m in metrics]
    return html.Div([html.H6(i18n.t("devices.metrics", language), className="mt-3"),
                     dbc.Table([header, html.Tbody(body)], size="sm", className="align-middle"),
                     dbc.FormText(i18n.t("devices.interval_help", language))])


def _metric_cells(metric: dict, errors: dict[str, FieldError], language: str) -> list[html.Td]:
    metric_id = metric["metric_id"]
    kinds = [{"label": i18n.t(f"devices.meter.{k}", language), "value": k} for k in validation.METER_KINDS]
    units = [{"label": u or i18n.t("devices.no_unit", language), "value": u} for u in validation.UNITS]

    def cell(name: str, control) -> html.Td:
        error = errors.get(name)
        return html.Td([control, dbc.FormFeedback(error.message(language) if error else "", type="invalid",
                                                  id=fleet_ids.metric_feedback(metric_id, name))])

    def value(name: str) -> str:
        raw = metric.get(name)
        if isinstance(raw, float):  # stored: written back the way the form reads it (no thousands marks)
            text = format(raw, "f").rstrip("0").rstrip(".")
            return text.replace(".", ",") if language == "pt-BR" else text
        return "" if raw is None else str(raw)

    select = lambda name, options: dbc.Select(id=fleet_ids.metric_field(metric_id, name), options=options,  # noqa
                                              value=metric.get(name) or "", invalid=name in errors)
    text = lambda name: dbc.Input(id=fleet_ids.metric_field(metric_id, name), value=value(name),  # noqa: E731
                                  invalid=name in errors, inputMode="decimal")
    return [cell("meter_kind", select("meter_kind", kinds)), cell("unit", select("unit", units)),
            cell("rollover_value", text("rollover_value")), cell("usual_interval_s", text("usual_interval_s"))]


def purge_option(readings: int, language: str):
    """Shown in the delete dialog of a device with readings: deleting is deactivating unless this is ticked."""
    if not readings:
        return None
    return dbc.Checkbox(id={"type": "devices-purge", "index": 0}, label=i18n.t("devices.purge", language),
                        value=False, className="mt-3")


def metrics_from_states(states: list[dict]) -> dict[int, dict]:
    """{metric_id: {'meter_kind': ..., 'unit': ...}} from the State list of the metric inputs."""
    grouped: dict[int, dict] = {}
    for item in states:
        grouped.setdefault(item["id"]["metric"], {})[item["id"]["name"]] = item.get("value")
    return grouped
