"""The Notificações page's pieces: my address and choices per account, and (operators) an account's defaults."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n, inputs
from tds_dash.alarms import preferences, service
from tds_dash.alarms.rules import SEVERITIES, RuleError
from tds_dash.context import Forbidden, current_scope, has_role, services
from tds_dash.db import session_scope
from tds_dash.queries import filters

SEVERITIES_TYPE, DIGEST_TYPE = "notif-severities", "notif-digest"  # pattern-matching: {"type", "account": id}
EMAIL, LANGUAGE, ON_ACK, SAVE, ALERT, ACCOUNTS = ("notif-email", "notif-language", "notif-on-ack", "notif-save",
                                                  "notif-alert", "notif-accounts")
RCP_ACCOUNT, RCP_USERS, RCP_SAVE, RCP_ALERT = ("notif-recipients-account", "notif-recipients-users",
                                               "notif-recipients-save", "notif-recipients-alert")
_FIELD_KEYS = {"email": "notif.error.email", "language": "notif.error.language",
               "recipients": "notif.error.recipients"}


def error_alert(error: Exception, language: str) -> dbc.Alert:
    """A refused save, translated by the field at fault (the English detail after it)."""
    if isinstance(error, RuleError):
        key = _FIELD_KEYS.get(error.field, "notif.error.other")
        return dbc.Alert(i18n.t(key, language, field=error.field, detail=error.message), color="danger")
    return dbc.Alert(i18n.t("alarms.forbidden", language, reason=str(error)), color="danger")


def account_rows(accounts: list[dict], language: str) -> html.Tbody:
    """One row per readable account: severity boxes, digest switch, and why the current choice applies."""
    severity_options = [{"label": i18n.t(f"alarms.severity.{s}", language), "value": s} for s in SEVERITIES]
    return html.Tbody([html.Tr([
        html.Td(entry["account"]),
        html.Td(dcc.Checklist(id={"type": SEVERITIES_TYPE, "account": entry["account_id"]}, inline=True,
                              options=severity_options, value=entry["severities"], inputClassName="me-1",
                              labelClassName="me-3")),
        html.Td(dbc.Switch(id={"type": DIGEST_TYPE, "account": entry["account_id"]}, value=entry["digest"],
                           label=i18n.t("notif.digest", language))),
        html.Td(i18n.t(f"notif.source.{entry['source']}", language), className="small text-muted"),
    ]) for entry in accounts], id=ACCOUNTS)


def my_card(language: str) -> dbc.Card:
    """The viewer's own settings, as stored."""
    mine = preferences.my_preferences()
    header = html.Thead(html.Tr([html.Th(i18n.t(k, language)) for k in (
        "alarms.col.account", "notif.col.severities", "notif.col.digest", "notif.col.source")]))
    return dbc.Card([dbc.CardHeader(i18n.t("notif.mine", language)), dbc.CardBody([
        dbc.Row([
            dbc.Col([dbc.Label(i18n.t("notif.email", language)),
                     dbc.Input(id=EMAIL, type="email", value=mine["email"] or "", maxLength=320)], md=5),
            dbc.Col([dbc.Label(i18n.t("notif.language", language)),
                     dcc.Dropdown(id=LANGUAGE, value=mine["language"], clearable=False,
                                  labels=i18n.dropdown_labels(language),
                                  options=[{"label": "Português (Brasil)", "value": "pt-BR"},
                                           {"label": "English", "value": "en"}])], md=3),
            dbc.Col(dbc.Switch(id=ON_ACK, value=mine["on_ack"], label=i18n.t("notif.on_ack", language)), md=4,
                    className="pt-4"),
        ], className="mb-3"),
        html.P(i18n.t("notif.help", language), className="small text-muted"),
        dbc.Table([header, account_rows(mine["accounts"], language)], size="sm", responsive=True),
        dbc.Button(i18n.t("notif.save", language), id=SAVE, color="primary"), html.Div(id=ALERT, className="mt-2"),
    ])], className="mb-3 shadow-sm")


def save_mine(email, language_choice, on_ack, severities: list, digests: list, ids: list[dict],
              language: str) -> tuple[dbc.Alert, object]:
    """The form -> save_my_preferences; (the outcome, the account rows as now stored or None when refused)."""
    if not all(isinstance(c, dict) and "account" in c for c in ids) or len(ids) != len(severities or []):
        raise inputs.InvalidInput("notification preferences: malformed account rows")
    accounts = [{"account_id": component["account"], "severities": list(chosen or []), "digest": bool(digest)}
                for component, chosen, digest in zip(ids, severities, digests)]
    try:
        saved = preferences.save_my_preferences({"email": email or None, "language": language_choice,
                                                 "on_ack": bool(on_ack), "accounts": accounts})
    except (RuleError, Forbidden) as error:
        return error_alert(error, language), None
    return (dbc.Alert(i18n.t("notif.saved", language), color="success", duration=5000),
            account_rows(saved["accounts"], language))


def recipients_card(language: str):
    """Operators and admins: who gets an account's alarms by default (nothing for viewers)."""
    if not has_role(*service.MANAGER_ROLES):
        return None
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, current_scope())
    return dbc.Card([dbc.CardHeader(i18n.t("notif.defaults", language)), dbc.CardBody([
        html.P(i18n.t("notif.defaults.help", language), className="small text-muted"),
        dbc.Row([
            dbc.Col([dbc.Label(i18n.t("filter.account", language)),
                     dcc.Dropdown(id=RCP_ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                                  value=accounts[0]["id"] if accounts else None, clearable=False,
                                  labels=i18n.dropdown_labels(language))], md=4),
            dbc.Col([dbc.Label(i18n.t("notif.defaults.users", language)),
                     dcc.Dropdown(id=RCP_USERS, multi=True, labels=i18n.dropdown_labels(language))], md=6),
            dbc.Col(dbc.Button(i18n.t("notif.save", language), id=RCP_SAVE, color="primary"), md=2,
                    className="pt-4"),
        ]),
        html.Div(id=RCP_ALERT, className="mt-2"),
    ])], className="mb-3 shadow-sm", id="notif-defaults")


def recipient_choices(account_id: int | None, language: str) -> tuple[list[dict], list[str], object]:
    """(candidate options, current recipients, an alert or None) of the chosen account."""
    if account_id is None:
        return [], [], None
    try:
        found = preferences.account_recipients(account_id)
    except (Forbidden, service.NotFound) as error:
        return [], [], error_alert(error, language)
    options = [{"label": c["username"] + ("" if c["has_email"] else " " + i18n.t("notif.no_email", language)),
                "value": c["username"]} for c in found["candidates"]]
    return options, found["recipients"], None


def save_recipients(account_id: int | None, usernames: list | None, language: str) -> dbc.Alert:
    """Save the account's default recipients; the outcome as an alert."""
    try:
        preferences.save_account_recipients(account_id or 0, {"recipients": list(usernames or [])})
    except (RuleError, Forbidden, service.NotFound) as error:
        return error_alert(error, language)
    return dbc.Alert(i18n.t("notif.saved", language), color="success", duration=5000)
