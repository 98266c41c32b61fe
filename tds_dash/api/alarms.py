"""/api/v1 alarms, alarm rules and notification channels (docs/openapi.yaml); the checks are the page's.

Errors answer the one JSON body (tds_dash.errors.json_error): 400 names the field, 403 for a role or an
account outside the caller's scope on a write, 404 for a row missing or outside the scope (not told apart),
409 when someone saved a rule in between.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import flask

from tds_dash import periods
from tds_dash.alarms import preferences, service
from tds_dash.alarms.rules import RuleError
from tds_dash.api import limits
from tds_dash.api.v1 import unexpected_error
from tds_dash.context import Forbidden, services
from tds_dash.errors import json_error

blueprint = flask.Blueprint("api_alarms", __name__, url_prefix="/api/v1")
limits.limit_in_flight(blueprint)  # the same per-user budget as every /api/v1 route
log = logging.getLogger(__name__)
DEFAULT_DAYS = 30


@blueprint.errorhandler(RuleError)
def _invalid(error: RuleError):
    return json_error(400, "invalid_parameter", f"'{error.field}' {error.message}", error.field)


@blueprint.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return json_error(403, "forbidden", str(error))


MAX_ROW_ID = 2**63 - 1  # bigint: a larger id names no row (and PostgreSQL would refuse the comparison)


@blueprint.url_value_preprocessor
def _refuse_impossible_ids(endpoint, values) -> None:
    """An id no row can have is a 404 like any unknown id, never a database error."""
    if any(name.endswith("_id") and isinstance(value, int) and not 0 < value <= MAX_ROW_ID
           for name, value in (values or {}).items()):
        raise service.NotFound("no such row")


@blueprint.errorhandler(service.NotFound)
def _not_found(error: service.NotFound):
    return json_error(404, "not_found", str(error))


@blueprint.errorhandler(service.Conflict)
def _conflict(error: service.Conflict):
    return json_error(409, "conflict", str(error))


blueprint.register_error_handler(Exception, unexpected_error)  # the one catch-all of every /api/v1 blueprint


def _body() -> dict:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RuleError("body", "must be a JSON object")
    return body


def _int_arg(name: str) -> int | None:
    raw = flask.request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise RuleError(name, "must be an integer id")
    return int(raw)


def _range() -> tuple[datetime, datetime]:
    zone, now = services().settings.zone, datetime.now(timezone.utc)
    bounds = []
    for name, default in (("from", now - timedelta(days=DEFAULT_DAYS)), ("to", now + timedelta(seconds=1))):
        raw = flask.request.args.get(name, "").strip()
        try:
            bounds.append(periods.parse_instant(raw, zone) if raw else default)
        except periods.PeriodError as error:
            raise RuleError(name, str(error)) from None
    return bounds[0], bounds[1]


def _json(row: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


@blueprint.get("/alarms")
def get_alarms():
    """Alarms in the caller's scope: ?state=active|cleared|unack|<state>&severity=&account=&rule=&from=&to="""
    states, severities = service.alarm_filters(flask.request.args.get("state"), flask.request.args.get("severity"))
    start, end = _range()
    rows = service.list_alarms(states, severities, start, end, _int_arg("account"), _int_arg("rule"))
    return flask.jsonify({"count": len(rows), "data": [_json(r) for r in rows]})


def _comment() -> str | None:
    body = flask.request.get_json(silent=True) or {}
    comment = body.get("comment") if isinstance(body, dict) else None
    if comment is not None and not isinstance(comment, str):
        raise RuleError("comment", "must be a string")
    return comment


@blueprint.post("/alarms/<int:alarm_id>/ack")
def ack_alarm(alarm_id: int):
    """Acknowledge with an optional comment (operators and admins)."""
    return flask.jsonify(_json(service.acknowledge(alarm_id, _comment())))


@blueprint.post("/alarms/<int:alarm_id>/clear")
def clear_alarm(alarm_id: int):
    """Clear by hand with an optional comment (operators and admins)."""
    return flask.jsonify(_json(service.clear(alarm_id, _comment())))


@blueprint.get("/alarm-rules")
def get_rules():
    """Rules of the caller's accounts."""
    rows = service.list_rules()
    return flask.jsonify({"count": len(rows), "data": [_json(r) for r in rows]})


@blueprint.post("/alarm-rules")
def post_rule():
    """Create a rule from its kind's template."""
    return flask.jsonify(_json(service.create_rule(_body()))), 201


@blueprint.patch("/alarm-rules/<int:rule_id>")
def patch_rule(rule_id: int):
    """Edit a rule (partial body, optional version)."""
    return flask.jsonify(_json(service.update_rule(rule_id, _body())))


@blueprint.delete("/alarm-rules/<int:rule_id>")
def delete_rule(rule_id: int):
    """Delete a rule (built-in ones: 409)."""
    service.delete_rule(rule_id)
    return "", 204


@blueprint.get("/notification-channels")
def get_channels():
    """Channels of the caller's accounts, without secrets."""
    rows = service.list_channels()
    return flask.jsonify({"count": len(rows), "data": [_json(r) for r in rows]})


@blueprint.post("/notification-channels")
def post_channel():
    """Create a channel (a generated webhook secret is returned once)."""
    return flask.jsonify(_json(service.create_channel(_body()))), 201


@blueprint.patch("/notification-channels/<int:channel_id>")
def patch_channel(channel_id: int):
    """Edit a channel (partial body)."""
    return flask.jsonify(_json(service.update_channel(channel_id, _body())))


@blueprint.delete("/notification-channels/<int:channel_id>")
def delete_channel(channel_id: int):
    """Delete a channel."""
    service.delete_channel(channel_id)
    return "", 204


@blueprint.post("/notification-channels/<int:channel_id>/test")
def test_channel(channel_id: int):
    """Queue a test message through the outbox."""
    return flask.jsonify({"queued": service.test_channel(channel_id)}), 202


@blueprint.get("/me/notification-preferences")
def get_my_preferences():
    """The caller's address, language and, per readable account, the severities that reach them (any role)."""
    return flask.jsonify(preferences.my_preferences())


@blueprint.put("/me/notification-preferences")
def put_my_preferences():
    """Save the caller's preferences (partial body); accounts outside the caller's scope: 403."""
    return flask.jsonify(preferences.save_my_preferences(_body()))


@blueprint.get("/accounts/<int:account_id>/notification-recipients")
def get_account_recipients(account_id: int):
    """The account's default recipients and who may be one (operators and admins of the account)."""
    return flask.jsonify(preferences.account_recipients(account_id))


@blueprint.put("/accounts/<int:account_id>/notification-recipients")
def put_account_recipients(account_id: int):
    """Replace the account's default recipients ({"recipients": [usernames]}); each must read the account."""
    return flask.jsonify(preferences.save_account_recipients(account_id, _body()))
