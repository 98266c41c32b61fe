"""SQL of the statements package; every read the UI or API makes is scoped by the viewer's accounts."""
from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope

_ACCOUNT = sa.text("SELECT id, slug, name FROM accounts WHERE id = :account_id AND id " + IN_SCOPE)
_BILLED_ACCOUNTS = sa.text("SELECT DISTINCT a.id FROM accounts a JOIN tariffs t ON t.account_id = a.id ORDER BY a.id")
_ACCOUNT_METRICS = sa.text(
    "SELECT m.name FROM tariffs t JOIN metrics m ON m.id = t.metric_id WHERE t.account_id = :account_id"
    " ORDER BY m.name")
# Devices of the account with the hour of their first rollup row of this metric before the month's end:
# hours before it are "not installed yet", hours after it without a row are gaps.
_DEVICES = sa.text(
    "SELECT d.id, d.code, d.name, (SELECT min(c.bucket) FROM consumption_hourly c WHERE c.device_id = d.id"
    " AND c.metric_id = :metric_id AND c.bucket < :hi) AS first_hour FROM devices d"
    " WHERE d.account_id = :account_id AND d.account_id " + IN_SCOPE + " ORDER BY d.code, d.id")
_CORRECTIONS = sa.text(
    "SELECT c.device_id, d.code AS device, c.ts, c.kind, c.previous_value, c.value, c.consumption"
    " FROM meter_corrections c JOIN devices d ON d.id = c.device_id"
    " WHERE d.account_id = :account_id AND d.account_id " + IN_SCOPE
    + " AND c.metric_id = :metric_id AND c.ts >= :lo AND c.ts < :hi ORDER BY c.ts, d.code LIMIT 5000")

# Months (oldest first) where the account has hourly rollups of a metric it has a tariff for and no current
# statement: what the monthly job catches up (one index probe per month on consumption_hourly_account_idx).
_MISSING_MONTHS = sa.text(
    "SELECT m.month FROM unnest(CAST(:months AS date[]), CAST(:starts AS timestamptz[]),"
    " CAST(:ends AS timestamptz[])) AS m(month, lo, hi)"
    " WHERE EXISTS (SELECT 1 FROM consumption_hourly c JOIN tariffs t ON t.account_id = c.account_id"
    "  AND t.metric_id = c.metric_id WHERE c.account_id = :account_id AND c.bucket >= m.lo AND c.bucket < m.hi)"
    " AND NOT EXISTS (SELECT 1 FROM statements s WHERE s.account_id = :account_id AND s.period = m.month"
    "  AND s.superseded_at IS NULL) ORDER BY m.month")

_COLUMNS = ("s.id, s.account_id, a.slug AS account, a.name AS account_name, s.period, s.language, s.generated_at,"
            " s.generated_by, s.reason, s.tariff_versions, s.total, s.superseded_at, s.superseded_by")
_LIST = sa.text(
    "SELECT " + _COLUMNS + " FROM statements s JOIN accounts a ON a.id = s.account_id"
    " WHERE s.account_id " + IN_SCOPE + " AND (CAST(:account_id AS bigint) IS NULL OR s.account_id = :account_id)"
    " AND (:with_superseded OR s.superseded_at IS NULL) ORDER BY s.period DESC, a.name, s.id DESC LIMIT :limit")
_ONE = sa.text("SELECT " + _COLUMNS + ", s.content FROM statements s JOIN accounts a ON a.id = s.account_id"
               " WHERE s.id = :id AND s.account_id " + IN_SCOPE)
_FILES = sa.text("SELECT s.pdf, s.csv FROM statements s WHERE s.id = :id AND s.account_id " + IN_SCOPE)
_CURRENT = sa.text("SELECT id FROM statements WHERE account_id = :account_id AND period = :period"
                   " AND superseded_at IS NULL FOR UPDATE")
_INSERT = sa.text(
    "INSERT INTO statements (account_id, period, language, generated_at, generated_by, reason, tariff_versions,"
    " total, content, pdf, csv) VALUES (:account_id, :period, :language, :generated_at, :generated_by, :reason,"
    " CAST(:tariff_versions AS jsonb), :total, CAST(:content AS jsonb), :pdf, :csv)"
    " ON CONFLICT (account_id, period) WHERE superseded_at IS NULL DO NOTHING RETURNING id")
_SUPERSEDE = sa.text("UPDATE statements SET superseded_at = :now WHERE id = :id")
_LINK = sa.text("UPDATE statements SET superseded_by = :new_id WHERE id = :id")
# The account's e-mail channels only (not the admins' catch-all): statements are the client's.
_ENQUEUE = sa.text(
    "INSERT INTO notification_outbox (alarm_id, statement_id, channel_id, event, event_key, payload,"
    " next_attempt_at) SELECT NULL, :statement_id, c.id, 'statement', :event_key, CAST(:payload AS jsonb), :now"
    " FROM notification_channels c WHERE c.enabled AND c.type = 'email' AND c.account_id = :account_id"
    " ON CONFLICT (channel_id, statement_id) WHERE statement_id IS NOT NULL DO NOTHING")


def find_account(conn: Connection, scope: Scope, account_id: int) -> dict | None:
    row = conn.execute(_ACCOUNT, {**scope.params(), "account_id": account_id}).mappings().first()
    return dict(row) if row else None


def billed_accounts(conn: Connection) -> list[int]:
    """Accounts with at least one tariff: those that get a statement (the scheduler acts for all)."""
    return list(conn.execute(_BILLED_ACCOUNTS).scalars())


def missing_months(conn: Connection, account_id: int, months: list[tuple[date, datetime, datetime]]) -> list[date]:
    """Of the given (month, local start, local end), those with readings and no current statement, oldest first."""
    params = {"account_id": account_id, "months": [m for m, _, _ in months], "starts": [lo for _, lo, _ in months],
              "ends": [hi for _, _, hi in months]}
    return list(conn.execute(_MISSING_MONTHS, params).scalars())


def account_metrics(conn: Connection, account_id: int) -> list[str]:
    return list(conn.execute(_ACCOUNT_METRICS, {"account_id": account_id}).scalars())


def devices_with_first_hour(conn: Connection, scope: Scope, account_id: int, metric_id: int,
                            hi: datetime) -> list[dict]:
    params = {**scope.params(), "account_id": account_id, "metric_id": metric_id, "hi": hi}
    return [dict(row) for row in conn.execute(_DEVICES, params).mappings()]


def corrections(conn: Connection, scope: Scope, account_id: int, metric_id: int, lo: datetime,
                hi: datetime) -> list[dict]:
    params = {**scope.params(), "account_id": account_id, "metric_id": metric_id, "lo": lo, "hi": hi}
    return [dict(row) for row in conn.execute(_CORRECTIONS, params).mappings()]


def list_statements(conn: Connection, scope: Scope, account_id: int | None = None, with_superseded: bool = False,
                    limit: int = 500) -> list[dict]:
    params = {**scope.params(), "account_id": account_id, "with_superseded": with_superseded, "limit": limit}
    return [dict(row) for row in conn.execute(_LIST, params).mappings()]


def find_statement(conn: Connection, scope: Scope, statement_id: int) -> dict | None:
    row = conn.execute(_ONE, {**scope.params(), "id": statement_id}).mappings().first()
    return dict(row) if row else None


def statement_files(conn: Connection, scope: Scope, statement_id: int) -> tuple[bytes, str] | None:
    row = conn.execute(_FILES, {**scope.params(), "id": statement_id}).first()
    return (bytes(row.pdf), row.csv) if row else None


def lock_current(conn: Connection, account_id: int, period: date) -> int | None:
    """The current statement's id, locked until the transaction ends (a regeneration's first step)."""
    return conn.execute(_CURRENT, {"account_id": account_id, "period": period}).scalar()


def insert_statement(conn: Connection, row: dict) -> int | None:
    """The new statement's id; None when the account already has a current one for the period."""
    params = {**row, "tariff_versions": json.dumps(row["tariff_versions"]), "content": json.dumps(row["content"])}
    return conn.execute(_INSERT, params).scalar()


def supersede(conn: Connection, old_id: int, now: datetime) -> None:
    conn.execute(_SUPERSEDE, {"id": old_id, "now": now})


def link_superseded(conn: Connection, old_id: int, new_id: int) -> None:
    conn.execute(_LINK, {"id": old_id, "new_id": new_id})


def enqueue_emails(conn: Connection, statement_id: int, account_id: int, payload: dict, now: datetime) -> int:
    """One outbox row per enabled e-mail channel of the account; returns how many were queued."""
    return conn.execute(_ENQUEUE, {"statement_id": statement_id, "account_id": account_id, "now": now,
                                   "event_key": f"statement:{statement_id}", "payload": json.dumps(payload)}).rowcount
