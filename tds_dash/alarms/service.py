"""What the alarms page and API do for a signed-in user: the same role and account checks for both.

Viewers read; operators and admins acknowledge, clear and edit rules and channels of their accounts;
rows without an account (the ingest rule, the admins' channels) are for admins. Every change is audited
in its own transaction.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

import flask
from sqlalchemy.engine import Connection

from tds_dash.alarms import lifecycle, outbox, queries
from tds_dash.alarms.channels import validate_channel
from tds_dash.alarms.model import STATES
from tds_dash.alarms.rules import SEVERITIES, RuleError, optional_id, validate_rule
from tds_dash.context import Forbidden, current_scope, current_user, require_role, services
from tds_dash.db import session_scope
from tds_dash.queries.users import record_audit

MANAGER_ROLES = ("admin", "operator")


class NotFound(LookupError):
    """No such row in the caller's scope (missing and foreign are not told apart)."""


class Conflict(RuntimeError):
    """Someone else saved this row since it was read."""


def audit(conn: Connection, action: str, entity: str, entity_id, account_id, before=None, after=None) -> None:
    user = current_user()
    address = flask.request.remote_addr if flask.has_request_context() else None
    record_audit(conn, user.id if user else None, user.username if user else "system", action, entity, entity_id,
                 account_id, before, after, address)


def writable_account(account_id: int | None) -> None:
    """Operators write only in their own accounts; system rows (no account) are admins' only."""
    require_role(*MANAGER_ROLES)
    scope = current_scope()
    if account_id is None and scope.account_ids is not None:
        raise Forbidden("only admins manage system rules and channels")
    if account_id is not None and scope.account_ids is not None and account_id not in scope.account_ids:
        raise Forbidden("account outside your scope")


def alarm_filters(state: str | None, severity: str | None) -> tuple[list[str], list[str]]:
    """'active' / 'cleared' / one exact state, and one severity; anything else is a RuleError naming it."""
    states = {"active": ["active_unack", "active_ack"], "cleared": ["cleared_unack", "cleared_ack"],
              "unack": ["active_unack", "cleared_unack"], "": list(STATES)}
    if (state or "") not in states and state not in STATES:
        raise RuleError("state", "must be active, cleared, unack or one of " + ", ".join(STATES))
    if severity and severity not in SEVERITIES:
        raise RuleError("severity", "must be critical, major, minor or warning")
    return states.get(state or "", [state]), [severity] if severity else list(SEVERITIES)


def list_alarms(states: list[str], severities: list[str], start: datetime, end: datetime,
                account_id: int | None = None, rule_id: int | None = None, limit: int = 200,
                alarm_id: int | None = None, gateway: str | None = None,
                device_id: int | None = None) -> list[dict]:
    """Alarms in the caller's scope overlapping [start, end), filtered (see alarm_filters)."""
    with session_scope(services().engine) as conn:
        return queries.list_alarms(conn, current_scope(), states=states, severities=severities, start=start,
                                   end=end, account_id=account_id, rule_id=rule_id, limit=limit, alarm_id=alarm_id,
                                   gateway=gateway, device_id=device_id)


def active_counts() -> dict[str, int]:
    """Active alarms per severity in the caller's scope."""
    with session_scope(services().engine) as conn:
        return queries.active_counts(conn, current_scope())


def recent_deliveries(limit: int = 20) -> list[dict]:
    """The delivery log of the caller's channels, newest attempt first."""
    with session_scope(services().engine) as conn:
        return queries.recent_deliveries(conn, current_scope(), limit)


def _alarm_action(alarm_id: int, comment: str | None, action: str) -> dict:
    user = current_user()
    with session_scope(services().engine) as conn:
        found = queries.alarm_account(conn, current_scope(), alarm_id)
        if found is None:
            raise NotFound(f"alarm {alarm_id} not found")
        writable_account(found[1])
        now = datetime.now(timezone.utc)
        step = lifecycle.acknowledge if action == "acknowledge" else lifecycle.clear_alarm
        changed = step(conn, alarm_id, now, user.username, (comment or "").strip()[:1000] or None)
        if changed:
            audit(conn, action, "alarm", alarm_id, found[1], after={"comment": comment})
        row = queries.get_alarm(conn, current_scope(), alarm_id)
    return {**row, "changed": changed}


def acknowledge(alarm_id: int, comment: str | None) -> dict:
    """Acknowledge with a comment (who and when in the audit log); acknowledging twice changes nothing."""
    return _alarm_action(alarm_id, comment, "acknowledge")


def clear(alarm_id: int, comment: str | None) -> dict:
    """Clear by hand; if the condition still holds, the next evaluation raises a new alarm."""
    return _alarm_action(alarm_id, comment, "clear")


def _rule_row(conn: Connection, rule_id: int) -> dict:
    rows = queries.list_rules(conn, current_scope(), rule_id)
    if not rows:
        raise NotFound(f"rule {rule_id} not found")
    return rows[0]


def create_rule(body: dict) -> dict:
    """A rule from a template's defaults plus the body; account required except for admins' system rules."""
    rule = validate_rule(body)
    account_id = optional_id(body.get("account_id"), "account_id")
    if (rule["kind"] == "ingest_stalled") != (account_id is None):
        raise RuleError("account_id", "is required (and must be empty for ingest_stalled)")
    writable_account(account_id)
    with session_scope(services().engine) as conn:
        if not queries.subject_in_account(conn, account_id, rule["gateway_id"], rule["device_id"]):
            raise RuleError("device_id" if rule["device_id"] else "gateway_id", "not in this account")
        rule_id = queries.insert_rule(conn, account_id, rule)
        audit(conn, "create", "alarm_rule", rule_id, account_id, after=rule)
        return _rule_row(conn, rule_id)


def update_rule(rule_id: int, body: dict) -> dict:
    """Edit parameters (partial body); `version` in the body guards against overwriting another's save."""
    with session_scope(services().engine) as conn:
        before = _rule_row(conn, rule_id)
        writable_account(before["account_id"])
        rule = validate_rule({k: v for k, v in body.items() if k not in ("version", "account_id")}, existing=before)
        if not queries.subject_in_account(conn, before["account_id"], rule["gateway_id"], rule["device_id"]):
            raise RuleError("device_id" if rule["device_id"] else "gateway_id", "not in this account")
        if not queries.update_rule(conn, rule_id, rule, body.get("version")):
            raise Conflict("someone else changed this rule; reload it")
        audit(conn, "update", "alarm_rule", rule_id, before["account_id"], before=before, after=rule)
        return _rule_row(conn, rule_id)


def delete_rule(rule_id: int) -> None:
    """Delete a rule and its alarms' history (the audit log keeps the rule)."""
    with session_scope(services().engine) as conn:
        before = _rule_row(conn, rule_id)
        writable_account(before["account_id"])
        if before["builtin"]:  # it would be re-created at the next evaluation
            raise Conflict("a built-in rule cannot be deleted; disable it instead")
        queries.delete_rule(conn, rule_id)
        audit(conn, "delete", "alarm_rule", rule_id, before["account_id"], before=before)


def list_rules() -> list[dict]:
    """Rules in the caller's scope (system rules to admins only)."""
    with session_scope(services().engine) as conn:
        return queries.list_rules(conn, current_scope())


def _channel_row(conn: Connection, channel_id: int) -> dict:
    rows = queries.list_channels(conn, current_scope(), channel_id)
    if not rows:
        raise NotFound(f"channel {channel_id} not found")
    return rows[0]


def list_channels() -> list[dict]:
    """Channels in the caller's scope, without their secrets."""
    with session_scope(services().engine) as conn:
        return queries.list_channels(conn, current_scope())


def create_channel(body: dict) -> dict:
    """A channel; a webhook without a secret gets a random one, returned this once (like API tokens)."""
    channel = validate_channel(body)
    account_id = optional_id(body.get("account_id"), "account_id")
    writable_account(account_id)
    generated = channel["type"] == "webhook" and not channel["secret"]
    if generated:
        channel["secret"] = secrets.token_hex(32)
    with session_scope(services().engine) as conn:
        channel_id = queries.insert_channel(conn, account_id, channel)
        audit(conn, "create", "notification_channel", channel_id, account_id,
               after={**channel, "secret": "***" if channel["secret"] else None})
        row = _channel_row(conn, channel_id)
    return {**row, "secret": channel["secret"]} if generated else row


def update_channel(channel_id: int, body: dict) -> dict:
    """Edit a channel (partial body); the type and account stay."""
    with session_scope(services().engine) as conn:
        before = _channel_row(conn, channel_id)
        writable_account(before["account_id"])
        channel = validate_channel({k: v for k, v in body.items() if k != "account_id"}, existing=before)
        queries.update_channel(conn, channel_id, channel)
        audit(conn, "update", "notification_channel", channel_id, before["account_id"], before=before,
               after={**channel, "secret": "***" if channel["secret"] else None})
        return _channel_row(conn, channel_id)


def delete_channel(channel_id: int) -> None:
    """Delete a channel; its queued notifications go with it."""
    with session_scope(services().engine) as conn:
        before = _channel_row(conn, channel_id)
        writable_account(before["account_id"])
        queries.delete_channel(conn, channel_id)
        audit(conn, "delete", "notification_channel", channel_id, before["account_id"], before=before)


def test_channel(channel_id: int) -> int:
    """Queue a test message; the sender job delivers it like any other (returns the outbox id)."""
    with session_scope(services().engine) as conn:
        before = _channel_row(conn, channel_id)
        writable_account(before["account_id"])
        outbox_id = outbox.enqueue_test(conn, channel_id, datetime.now(timezone.utc), current_user().username)
        audit(conn, "test", "notification_channel", channel_id, before["account_id"])
        return outbox_id
