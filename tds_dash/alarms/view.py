"""The Alarmes page's pieces: filter options, the table with ack/clear buttons, the badges, one action function."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from tds_dash import i18n
from tds_dash.alarms import service
from tds_dash.alarms.model import STATES
from tds_dash.alarms.rules import SEVERITIES, RuleError
from tds_dash.context import Forbidden, current_user, has_role

log = logging.getLogger(__name__)
ACK, CLEAR = "alarms-ack", "alarms-clear"  # pattern-matching button types: {"type": ACK, "index": alarm id}
SEVERITY_COLORS = {"critical": "danger", "major": "warning", "minor": "info", "warning": "secondary"}
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
COLUMNS = ("severity", "state", "kind", "subject", "account", "since", "count", "detail", "actions")


def options(prefix: str, values, language: str) -> list[dict]:
    """Dropdown options labelled from the catalogue."""
    return [{"label": i18n.t(f"{prefix}.{value}", language), "value": value} for value in values]


def filter_options(language: str) -> dict[str, list[dict]]:
    """Severity, state and period choices."""
    return {"severity": options("alarms.severity", SEVERITIES, language),
            "state": options("alarms.state", ("active", "unack", "cleared", *STATES), language),
            "period": options("alarms.period", PERIODS, language)}


def preset_filters(query: dict, choices: dict, accounts: list[dict], focused: bool) -> dict:
    """Initial filter values from the URL; a value that is not one of the choices is ignored, not trusted."""
    def chosen(name: str, values) -> object:
        raw = query.get(name)
        return next((v for v in values if str(v) == raw), None)

    state = chosen("state", [o["value"] for o in choices["state"]])
    return {"severity": chosen("severity", [o["value"] for o in choices["severity"]]),
            "account": chosen("account", [a["id"] for a in accounts]),
            "state": state or (None if focused else "active")}


def rule_options() -> list[dict]:
    """The rule filter's choices in the viewer's scope."""
    return [{"label": r["name"], "value": r["id"]} for r in service.list_rules()]


def _buttons(alarm: dict, language: str, types: tuple[str, str]) -> list:
    if not has_role(*service.MANAGER_ROLES):
        return []
    out = []
    if alarm["acked_at"] is None:
        out.append(dbc.Button(i18n.t("alarms.ack", language), id={"type": types[0], "index": alarm["id"]},
                              size="sm", color="primary", outline=True, className="me-1"))
    if alarm["cleared_at"] is None:
        out.append(dbc.Button(i18n.t("alarms.clear", language), id={"type": types[1], "index": alarm["id"]},
                              size="sm", color="secondary", outline=True))
    return out


def _row(alarm: dict, zone: ZoneInfo, language: str, types: tuple[str, str]) -> html.Tr:
    where = alarm.get("device") or alarm.get("gateway") or alarm.get("account") or "TDS"
    detail = alarm["detail"] + (i18n.t("alarms.suppressed", language, count=alarm["suppressed"])
                                if alarm["suppressed"] else "")
    return html.Tr([
        html.Td(dbc.Badge(i18n.t(f"alarms.severity.{alarm['severity']}", language),
                          color=SEVERITY_COLORS[alarm["severity"]])),
        html.Td(i18n.t(f"alarms.state.{alarm['state']}", language), className="small"),
        html.Td(f"{i18n.t('alarms.kind.' + alarm['kind'], language)} · {alarm['rule']}"),
        html.Td(where), html.Td(alarm.get("account") or "—"),
        html.Td(i18n.format_datetime(alarm["started_at"], zone, language), className="text-nowrap small"),
        html.Td(i18n.format_number(alarm["count"], language, 0)),
        html.Td(detail, className="small"), html.Td(_buttons(alarm, language, types), className="text-nowrap"),
    ], id=f"alarm-row-{alarm['id']}", className=f"alarm-{alarm['state']}")


def alarms_table(filters: dict, now: datetime, zone: ZoneInfo, language: str):
    """The filtered alarms as a table (the page's one read), newest first within active/cleared."""
    states, severities = service.alarm_filters(filters.get("state"), filters.get("severity"))
    start = now - PERIODS.get(filters.get("period") or "7d", PERIODS["7d"])
    if filters.get("alarm"):
        start = datetime(1970, 1, 1, tzinfo=timezone.utc)  # one alarm asked for by id: whenever it was
    rows = service.list_alarms(states, severities, start, now + timedelta(seconds=1), filters.get("account"),
                               filters.get("rule"), alarm_id=filters.get("alarm"))
    return table_of(rows, zone, language)


def table_of(rows: list[dict], zone: ZoneInfo, language: str, types: tuple[str, str] = (ACK, CLEAR),
             table_id: str = "alarms-list", empty_key: str = "alarms.empty"):
    """Alarm rows as a table whose buttons carry the pattern-matching types given (one pair per page)."""
    if not rows:
        return html.P(i18n.t(empty_key, language), className="text-muted", id=f"{table_id}-empty")
    header = html.Thead(html.Tr([html.Th(i18n.t(f"alarms.col.{c}", language)) for c in COLUMNS]))
    return dbc.Table([header, html.Tbody([_row(a, zone, language, types) for a in rows])], id=table_id, size="sm",
                     hover=True, responsive=True)


def badges(language: str) -> list:
    """Active alarms per severity in the viewer's scope."""
    counts = service.active_counts()
    return [dbc.Badge(f"{i18n.t('alarms.severity.' + s, language)}: {counts.get(s, 0)}", color=SEVERITY_COLORS[s],
                      className="me-2", id=f"alarms-badge-{s}") for s in SEVERITIES]


def deliveries_table(zone: ZoneInfo, language: str):
    """The delivery log: when, which channel, which event of which alarm, and what the server answered."""
    rows = service.recent_deliveries()
    if not rows:
        return html.P(i18n.t("alarms.deliveries.none", language), className="text-muted small")
    body = [html.Tr([
        html.Td(i18n.format_datetime(r["at"], zone, language), className="text-nowrap"),
        html.Td(f"{r['type']} · {r['target']}"), html.Td(f"{i18n.t('alarms.event.' + r['event'], language)}"
                                                         + (f" · #{r['alarm_id']}" if r["alarm_id"] else "")),
        html.Td(dbc.Badge(i18n.t("alarms.delivery." + ("ok" if r["ok"] else "failed"), language),
                          color="success" if r["ok"] else "danger")),
        html.Td(r["detail"], className="text-muted"),
    ]) for r in rows]
    return dbc.Table(html.Tbody(body), id="alarms-deliveries", size="sm", className="small", responsive=True)


def nav_badge(language: str):
    """The navbar's count of active alarms in scope, coloured by the worst severity; nothing when none."""
    try:
        counts = service.active_counts() if current_user() is not None else {}
    except Exception:  # the navbar must render even when the database is away
        log.exception("active alarm count failed")
        return None
    worst = next((s for s in SEVERITIES if counts.get(s)), None)
    if worst is None:
        return None
    return dbc.Badge(str(sum(counts.values())), color=SEVERITY_COLORS[worst], pill=True, className="ms-1",
                     id="nav-alarms-badge", title=i18n.t("alarms.state.active", language))


def act(action: str, alarm_id: int, comment: str | None, language: str) -> dbc.Alert:
    """Acknowledge (ACK) or clear (CLEAR) from a page; the outcome (or why not) as an alert."""
    try:
        step = service.acknowledge if action == ACK else service.clear
        result = step(alarm_id, comment)
    except (Forbidden, service.NotFound) as error:
        return dbc.Alert(i18n.t("alarms.forbidden", language, reason=str(error)), color="danger")
    except RuleError as error:
        return dbc.Alert(error.message, color="danger")
    key = ("alarms.acked" if action == ACK else "alarms.cleared") if result["changed"] else "alarms.unchanged"
    return dbc.Alert(i18n.t(key, language, id=alarm_id), color="success", duration=5000)


def utc_now() -> datetime:
    """Now, aware (callbacks read the clock here so tests can pass their own)."""
    return datetime.now(timezone.utc)
