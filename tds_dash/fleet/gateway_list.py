"""The gateways list, its form and its side cards (unknown serials, auto-provisioning per account)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n
from tds_dash.fleet import components as fleet_components
from tds_dash.fleet import ids as fleet_ids
from tds_dash.fleet import text as fleet_text
from tds_dash.fleet.validation import FieldError

FORM = "gateways"
STATUSES = ("online", "offline", "never", "inactive")


def columns(language: str) -> list[tuple[str | None, str]]:
    return [("serial", i18n.t("gateways.serial", language)), ("name", i18n.t("gateways.name", language)),
            ("account", i18n.t("gateways.account", language)), ("status", i18n.t("fleet.status", language)),
            ("last_seen_at", i18n.t("gateways.last_seen", language)),
            ("devices", i18n.t("gateways.devices", language)), (None, i18n.t("fleet.actions", language))]


CERT_BADGE_COLORS = {"none": "secondary", "expiring": "warning", "revoked": "danger"}


def certificate_badge(state: str | None, language: str, serial: str):
    """'no certificate', 'expires in < 30 days' or 'revoked' beside the serial (nothing when fine or unknown)."""
    if state not in CERT_BADGE_COLORS:
        return None
    return dbc.Badge(i18n.t(f"certs.badge.{state}", language), color=CERT_BADGE_COLORS[state],
                     className=f"ms-1 cert-badge-{state}", id=f"gateways-cert-{serial}")


def rows(gateways: list[dict], now: datetime, zone: ZoneInfo, language: str, can_manage: bool,
         cert_states: dict[int, str] | None = None, undeletable: set[int] = frozenset()) -> list[html.Tr]:
    """`undeletable`: gateways whose devices have readings; their rows offer (de)activate, never a delete
    that would only be refused."""
    out, cert_states = [], cert_states or {}
    for gateway in gateways:
        cells = [
            html.Td([dcc.Link(gateway["serial"], href=f"/gateways/{gateway['serial']}"),
                     certificate_badge(cert_states.get(gateway["id"]), language, gateway["serial"])]),
            html.Td(gateway["name"]), html.Td(gateway["account"]),
            html.Td(fleet_components.status_badge(gateway["status"], language)),
            html.Td(fleet_text.seen_text(gateway["last_seen_at"], now, zone, language), className="small"),
            html.Td(i18n.format_number(gateway["devices"], language, 0)),
        ]
        if can_manage:
            cells.append(fleet_components.action_buttons(FORM, gateway, language,
                                                         can_delete=gateway["id"] not in undeletable))
        out.append(html.Tr(cells, id=f"gateways-row-{gateway['serial']}"))
    return out


def form_body(values: dict, errors: dict[str, FieldError], accounts: list[dict], editing: dict | None,
              language: str, alert: str | None = None) -> list:
    """The gateway form with the submitted (or stored) values and each field's error beside it."""
    field = lambda name, key, control, help_=None: fleet_components.form_field(  # noqa: E731
        FORM, name, i18n.t(key, language), control, errors, language, help_)
    title = (i18n.t("gateways.edit_title", language, serial=editing.get("serial", "")) if editing
             else i18n.t("gateways.new_title", language))
    account_options = [{"label": a["name"], "value": a["id"]} for a in accounts]
    return [
        html.H5(title, className="mb-3"),
        dbc.Alert(alert, color="danger", id="gateways-form-alert") if alert else None,
        field("account_id", "gateways.account",
              fleet_components.select(FORM, "account_id", values.get("account_id"), account_options, errors,
                                disabled=bool(editing)),
              i18n.t("gateways.account_fixed", language) if editing else None),
        field("serial", "gateways.serial", fleet_components.text_input(FORM, "serial", values.get("serial"), errors),
              i18n.t("gateways.serial_help", language)),
        field("name", "gateways.name", fleet_components.text_input(FORM, "name", values.get("name"), errors)),
        field("location", "gateways.location", fleet_components.text_input(FORM, "location", values.get("location"),
                                                                     errors)),
        field("inactivity_timeout_s", "gateways.timeout",
              fleet_components.text_input(FORM, "inactivity_timeout_s", values.get("inactivity_timeout_s", 300), errors,
                                    inputMode="numeric"),
              i18n.t("gateways.timeout_help", language)),
        fleet_components.switch(FORM, "active", i18n.t("fleet.active", language), values.get("active", True)),
    ]


def unknown_card(suggestions: list[dict], now: datetime, language: str, can_manage: bool):
    """Serials rejected as unknown_gateway, each with a 'register this gateway' button (prefilled form)."""
    if not suggestions:
        return None
    items = []
    for row in suggestions:
        text = i18n.t("gateways.unknown_row", language, serial=row["serial"], account=row["account"],
                      count=i18n.format_number(row["messages"], language, 0),
                      age=fleet_text.relative_age((now - row["last_received_at"]).total_seconds(), language))
        button = dbc.Button(i18n.t("gateways.register", language), size="sm", color="primary", className="ms-2",
                            id=fleet_ids.register_button(row["serial"], row["account_id"])) if can_manage else None
        items.append(dbc.ListGroupItem([html.Span(text), button], className="d-flex align-items-center"))
    return dbc.Card([dbc.CardHeader(i18n.t("gateways.unknown_title", language)),
                     dbc.ListGroup(items, flush=True)], color="warning", outline=True, className="mb-3")


def provisioning_card(accounts: list[dict], language: str) -> dbc.Card:
    """Auto-provisioning switches per account, for those who may change them (the page hides it from viewers)."""
    switches = [dbc.Switch(id={"type": "gateways-provisioning", "account": a["id"]}, label=a["name"],
                           value=bool(a["auto_provision"]), className="me-4")
                for a in accounts]
    return dbc.Card(dbc.CardBody([
        html.Div(i18n.t("gateways.provisioning_title", language), className="fw-semibold"),
        html.Div(switches, className="d-flex flex-wrap mt-1"),
        html.Div(i18n.t("gateways.provisioning_help", language), className="small text-muted"),
        html.Div(id=fleet_ids.GW_PROVISIONING, className="small"),
    ]), className="mb-3")
