"""The Tarifas page's pieces: the tariff of an account and metric, its versions, the forms' actions, previews.

Every write goes through tds_dash.tariffs.service, which checks the role and the account and audits; this
module only turns form values into the service's plain input and its answers into alerts and tables.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import dash_bootstrap_components as dbc
import flask
from dash import html

from tds_dash import i18n, periods
from tds_dash.context import current_scope, current_user, has_role, services
from tds_dash.db import session_scope
from tds_dash.tariffs import service
from tds_dash.tariffs.model import Tariff, TariffVersion, to_plain
from tds_dash.tariffs.money import format_brl

METRICS = ("energy_kwh", "water_m3", "gas_m3")
FLAT = {"periods": [], "tiers": [{"up_to": None, "price": "0,85"}], "taxes": [{"name": "ICMS", "rate": "18"}]}


def can_edit() -> bool:
    return has_role(*service.MANAGER_ROLES)


def metric_options(language: str) -> list[dict]:
    return [{"label": i18n.t(f"metric.{m}", language), "value": m} for m in METRICS]


def _actor() -> service.Actor:
    return service.Actor.of(current_user(), flask.request.remote_addr if flask.has_request_context() else None)


def _tariff(account_id, metric) -> Tariff | None:
    with session_scope(services().engine) as conn:
        return service.get_tariff(conn, current_scope(), account_id, metric)


def _summary(version: TariffVersion) -> tuple[str, str, str]:
    """Periods, tiers and taxes of a version in one short line each."""
    plain = to_plain(version)
    return ("; ".join(f"{p['name']} {p['price']}" for p in plain["periods"]) or "—",
            "; ".join(f"≤{t['up_to'] or '∞'} {t['price']}" for t in plain["tiers"]) or "—",
            "; ".join(f"{t['name']} {t['rate']}%" for t in plain["taxes"]) or "—")


def _table(headers: list[str], rows: list[list], table_id: str) -> dbc.Table:
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                      html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
                     bordered=False, hover=True, size="sm", id=table_id)


def _versions(tariff: Tariff, language: str) -> dbc.Table:
    headers = [i18n.t(f"tariffs.col.{k}", language) for k in ("valid_from", "fixed_fee", "minimum", "periods",
                                                              "tiers", "taxes")]
    rows = [[v.valid_from.isoformat(), format_brl(v.fixed_fee, language), format_brl(v.minimum_charge, language),
             *_summary(v)] for v in reversed(tariff.versions)]
    return _table(headers, rows, "tariffs-versions")


def _surcharges(tariff: Tariff, language: str) -> dbc.Table:
    headers = [i18n.t("tariffs.col.month", language), i18n.t("col.value", language),
               i18n.t("tariffs.col.label", language)]
    rows = [[f"{s.month:%Y-%m}", format(s.value, "f"), s.label] for s in reversed(tariff.surcharges)]
    return _table(headers, rows, "tariffs-surcharges")


def _last_month() -> date:
    """The first day of last month, local (the preview's month)."""
    zone = services().settings.zone
    return periods.add_months(datetime.now(timezone.utc).astimezone(zone).date().replace(day=1), -1)


def panel(account_id, metric, language: str) -> list:
    """The tariff's name, versions (newest first), surcharges and last month's cost; or why there is none."""
    if account_id is None or not metric:
        return [dbc.Alert(i18n.t("tariffs.pick", language), color="secondary")]
    try:
        tariff = _tariff(account_id, metric)
    except service.TariffInputError as error:  # an account outside the scope (a crafted request) or a gauge
        return [_refused(error, language)]
    if tariff is None:
        return [dbc.Alert(i18n.t("tariffs.none", language), color="info", id="tariffs-none")]
    state = f" · {tariff.holiday_subdivision}" if tariff.holiday_subdivision else ""
    return [html.H5(f"{tariff.name}{state}", id="tariffs-name"),
            html.Div(preview_text(account_id, metric, None, language), className="mb-2", id="tariffs-last-month"),
            statement_links(tariff, language),
            html.H6(i18n.t("tariffs.versions", language)), _versions(tariff, language),
            html.H6(i18n.t("tariffs.surcharges", language)), _surcharges(tariff, language)]


def statement_links(tariff: Tariff, language: str) -> html.Div:
    """Last month's statement as PDF and CSV (the API route; the browser's session signs the request)."""
    url = f"/api/v1/tariffs/{tariff.id}/statements/{_last_month():%Y-%m}"
    return html.Div([html.Span(i18n.t("tariffs.statement", language), className="me-2"),
                     html.A("PDF", href=url, className="me-2", id="tariffs-statement-pdf"),
                     html.A("CSV", href=f"{url}?format=csv", id="tariffs-statement-csv")], className="mb-3 small")


def form_values(account_id, metric) -> tuple:
    """The version form prefilled from the newest version (or a flat example): a new version edits from it."""
    try:
        tariff = _tariff(account_id, metric) if account_id is not None and metric else None
    except service.TariffInputError:
        tariff = None  # the panel says why; the form keeps the flat example
    if tariff is None or not tariff.versions:
        source = FLAT
        fee = minimum = "0"
    else:
        source = to_plain(tariff.versions[-1])
        for period in source["periods"]:
            period["windows"] = [{"day_type": w["day_type"], "start": w["start_hour"], "end": w["end_hour"]}
                                 for w in period["windows"]]
        fee, minimum = source["fixed_fee"], source["minimum_charge"]
    texts = [json.dumps(source[key], ensure_ascii=False) for key in ("periods", "tiers", "taxes")]
    return (datetime.now(timezone.utc).astimezone(services().settings.zone).date().isoformat(), fee, minimum, *texts)


def draft(valid_from, fee, minimum, periods_text, tiers_text, taxes_text) -> dict:
    """The form's fields as save_version's input; the three lists are JSON text."""
    values = {"valid_from": valid_from, "fixed_fee": fee, "minimum_charge": minimum}
    for key, text in (("periods", periods_text), ("tiers", tiers_text), ("taxes", taxes_text)):
        try:
            values[key] = json.loads(text or "[]")
        except ValueError:
            raise service.TariffInputError(key, "is not valid JSON") from None
    return values


def _refused(error: Exception, language: str) -> dbc.Alert:
    if isinstance(error, service.TariffPermissionError):
        return dbc.Alert(i18n.t("tariffs.forbidden", language), color="danger")
    return dbc.Alert(i18n.t("tariffs.invalid", language, field=error.field, message=error.message), color="danger")


def preview_text(account_id, metric, values: dict | None, language: str) -> str:
    """"Last month cost R$ … with the current tariff" (and "R$ … with this version" when a draft is given)."""
    month = _last_month()
    with session_scope(services().engine) as conn:
        found = service.preview_month(conn, current_scope(), account_id, metric, month, services().settings.zone,
                                      values)
    label = f"{month:%m/%Y}"
    if found.draft is None:
        return i18n.t("tariffs.last_month", language, month=label, cost=format_brl(found.stored, language))
    return i18n.t("tariffs.preview_result", language, month=label, stored=format_brl(found.stored, language),
                  draft=format_brl(found.draft, language))


def preview(account_id, metric, fields: tuple, language: str) -> dbc.Alert:
    """The preview button: last month under the stored tariff and under the form's version."""
    try:
        return dbc.Alert(preview_text(account_id, metric, draft(*fields), language), color="info",
                         id="tariffs-preview-result")
    except service.TariffInputError as error:
        return _refused(error, language)


def save_version(account_id, metric, fields: tuple, language: str) -> tuple[dbc.Alert, bool]:
    """The save button: (alert, saved)."""
    try:
        with session_scope(services().engine) as conn:
            saved = service.save_version(conn, current_scope(), _actor(), account_id, metric, draft(*fields))
    except (service.TariffInputError, service.TariffPermissionError) as error:
        return _refused(error, language), False
    return dbc.Alert(i18n.t("tariffs.saved", language, date=saved.valid_from.isoformat()), color="success"), True


def create_tariff(account_id, metric, name, subdivision, language: str) -> tuple[dbc.Alert, bool]:
    """The create button: a tariff for the chosen account and metric."""
    try:
        with session_scope(services().engine) as conn:
            service.create_tariff(conn, current_scope(), _actor(), account_id, metric,
                                  {"name": name, "holiday_subdivision": subdivision})
    except (service.TariffInputError, service.TariffPermissionError) as error:
        return _refused(error, language), False
    return dbc.Alert(i18n.t("tariffs.created", language), color="success"), True


def save_surcharge(account_id, metric, month, value, label, language: str) -> tuple[dbc.Alert, bool]:
    """The surcharge button: one month's value per unit."""
    try:
        with session_scope(services().engine) as conn:
            saved = service.set_surcharge(conn, current_scope(), _actor(), account_id, metric,
                                          {"month": month, "value": value, "label": label})
    except (service.TariffInputError, service.TariffPermissionError) as error:
        return _refused(error, language), False
    return dbc.Alert(i18n.t("tariffs.surcharge_saved", language, month=f"{saved.month:%Y-%m}"), color="success"), True
