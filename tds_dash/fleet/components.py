"""Components shared by the fleet pages: status badges, sortable headers, form fields, confirmation dialog."""
from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n
from tds_dash.fleet import ids as fleet_ids
from tds_dash.fleet.validation import FieldError

PAGE_SIZE = 20
BADGE_COLORS = {"online": "success", "offline": "danger", "never": "secondary", "inactive": "dark",
                "silent": "warning", "new": "info"}


def status_badge(status: str | None, language: str, badge_id: str | None = None) -> dbc.Badge:
    status = status or "never"
    kwargs = {"id": badge_id} if badge_id else {}
    return dbc.Badge(i18n.t(f"fleet.status.{status}", language), color=BADGE_COLORS.get(status, "secondary"),
                     className=f"me-1 status-{status}", **kwargs)


def sortable_header(table: str, columns: list[tuple[str | None, str]], sort: dict | None) -> html.Thead:
    """Column titles; a sortable one is a link-styled button showing ▲/▼ when it is the current sort."""
    sort = sort or {}
    cells = []
    for key, label in columns:
        if key is None:
            cells.append(html.Th(label))
            continue
        arrow = (" ▼" if sort.get("desc") else " ▲") if sort.get("key") == key else ""
        cells.append(html.Th(dbc.Button(label + arrow, id=fleet_ids.sort_button(table, key), color="link",
                                        className="p-0 fw-semibold text-decoration-none")))
    return html.Thead(html.Tr(cells))


def next_sort(sort: dict | None, key: str) -> dict:
    """Clicking the current column flips its direction; another column sorts ascending."""
    sort = sort or {}
    return {"key": key, "desc": not sort.get("desc") if sort.get("key") == key else False}


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / size))


def table(table_id: str, header: html.Thead, rows: list, language: str) -> dbc.Table:
    if not rows:
        rows = [html.Tr(html.Td(i18n.t("fleet.empty", language), colSpan=len(header.children.children),
                                className="text-muted"))]
    return dbc.Table([header, html.Tbody(rows)], id=table_id, hover=True, responsive=True, size="sm",
                     className="align-middle")


def action_buttons(table_name: str, row: dict, language: str, can_delete: bool = True) -> html.Td:
    """Edit, (de)activate and delete; each change other than edit is confirmed in a dialog first."""
    toggle = "deactivate" if row["active"] else "activate"
    buttons = [dbc.Button(i18n.t("fleet.edit", language), id=fleet_ids.row_action(table_name, "edit", row["id"]),
                          size="sm", color="primary", outline=True, className="me-1"),
               dbc.Button(i18n.t(f"fleet.{toggle}", language), id=fleet_ids.row_action(table_name, toggle, row["id"]),
                          size="sm", color="secondary", outline=True, className="me-1")]
    if can_delete:
        buttons.append(dbc.Button(i18n.t("fleet.delete", language),
                                  id=fleet_ids.row_action(table_name, "delete", row["id"]),
                                  size="sm", color="danger", outline=True))
    return html.Td(buttons, className="text-nowrap")


def form_field(form: str, name: str, label: str, control, errors: dict[str, FieldError], language: str,
               help_text: str | None = None) -> dbc.Row:
    """Label, control and, beside it, the field's error in the viewer's language."""
    error = errors.get(name)
    return dbc.Row([
        dbc.Label(label, width=4, html_for=_html_id(form, name)),
        dbc.Col([control,
                 dbc.FormFeedback(error.message(language) if error else "", type="invalid",
                                  id=fleet_ids.feedback(form, name)),
                 dbc.FormText(help_text) if help_text else None], width=8),
    ], className="mb-2")


def _html_id(form: str, name: str) -> str:
    return f"{form}-{name}"


def text_input(form: str, name: str, value, errors: dict, disabled: bool = False, **kwargs) -> dbc.Input:
    return dbc.Input(id=fleet_ids.field(form, name), value="" if value is None else str(value),
                     invalid=name in errors, disabled=disabled, debounce=False, **kwargs)


def select(form: str, name: str, value, options: list[dict], errors: dict, disabled: bool = False) -> dbc.Select:
    """A native select: its value is a string, converted by the form handler."""
    return dbc.Select(id=fleet_ids.field(form, name), options=[{"label": o["label"], "value": str(o["value"])}
                                                                for o in options],
                      value="" if value is None else str(value), invalid=name in errors, disabled=disabled)


def switch(form: str, name: str, label: str, value: bool) -> dbc.Switch:
    return dbc.Switch(id=fleet_ids.flag(form, name), label=label, value=bool(value))


def confirm_modal(modal_id: str, body_id: str, ok_id: str, cancel_id: str, language: str, extra=None) -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(i18n.t("fleet.confirm_title", language))),
        dbc.ModalBody([html.Div(id=body_id), extra]),
        dbc.ModalFooter([dbc.Button(i18n.t("fleet.cancel", language), id=cancel_id, color="secondary"),
                         dbc.Button(i18n.t("fleet.confirm", language), id=ok_id, color="danger")]),
    ], id=modal_id, is_open=False)


def form_modal(modal_id: str, body_id: str, save_id: str, cancel_id: str, language: str, body=None,
               is_open: bool = False) -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalBody(html.Div(body, id=body_id)),
        dbc.ModalFooter([dbc.Button(i18n.t("fleet.cancel", language), id=cancel_id, color="secondary"),
                         dbc.Button(i18n.t("fleet.save", language), id=save_id, color="primary")]),
    ], id=modal_id, is_open=is_open, size="lg", backdrop="static")


def filter_search(search_id: str, language: str) -> dbc.Col:
    return dbc.Col([dbc.Label(i18n.t("fleet.search", language), html_for=search_id),
                    dcc.Input(id=search_id, type="search", debounce=0.4, className="form-control")], md=3)


def status_filter(filter_id: str, statuses: tuple[str, ...], language: str) -> dbc.Col:
    options = [{"label": i18n.t(f"fleet.status.{s}", language), "value": s} for s in statuses]
    return dbc.Col([dbc.Label(i18n.t("fleet.status", language)),
                    dcc.Dropdown(labels=i18n.dropdown_labels(language), id=filter_id, options=options, placeholder=i18n.t("fleet.all", language))], md=2)


def values_by_name(states: list[dict]) -> dict:
    """{'serial': 'GW-1', ...} from the State list of a pattern-matching ALL (ctx.states_list item)."""
    return {item["id"]["name"]: item.get("value") for item in states}


def gateway_title(serial: str, name: str | None) -> str:
    """'GW-0101 · Portaria norte'; only the serial when the name says nothing more ('GW-0101', 'Gateway GW-0101',
    the simulator's and many installers' default), so a header never reads 'Gateway GW-0101 · Gateway GW-0101'."""
    label = (name or "").strip()
    if not label or label.casefold() in {serial.casefold(), f"gateway {serial}".casefold()}:
        return serial
    return f"{serial} · {label}"


def breadcrumbs(account: str, account_id: int, gateway: str | None = None, device: str | None = None) -> dbc.Breadcrumb:
    """account › gateway › device; each level but the last links to its page (the account to its explorer)."""
    items = [{"label": account, "href": f"/explorer?account={account_id}"}]
    if gateway is not None:
        items.append({"label": gateway, "href": f"/gateways/{gateway}"})
    if device is not None:
        items.append({"label": device})
    items[-1] = {"label": items[-1]["label"], "active": True}
    return dbc.Breadcrumb(items=items, id="breadcrumbs", className="small mb-1")
