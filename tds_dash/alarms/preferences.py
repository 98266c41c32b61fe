"""What the signed-in user chooses to receive, and an account's default recipients: the same checks for the
Alarmes page and /api/v1 (every role sets their own; operators and admins set their accounts' defaults)."""
from __future__ import annotations

from tds_dash.alarms import people
from tds_dash.alarms.channels import LANGUAGES, email_address
from tds_dash.alarms.recipients import DIGEST_SEVERITIES
from tds_dash.alarms.rules import SEVERITIES, RuleError, flag, optional_id
from tds_dash.alarms.service import NotFound, audit, writable_account
from tds_dash.context import Forbidden, current_scope, current_user, services
from tds_dash.db import session_scope


def _me():
    user = current_user()
    if user is None:
        raise Forbidden("sign in first")
    return user


def _account_entry(row: dict) -> dict:
    chosen = row["severities"] is not None
    severities = row["severities"] if chosen else (list(SEVERITIES) if row["default_recipient"] else [])
    return {"account_id": row["account_id"], "account": row["account"], "severities": severities,
            "digest": bool(row["digest"]) if chosen else False, "default_recipient": row["default_recipient"],
            "source": "choice" if chosen else ("default" if row["default_recipient"] else "none")}


def my_preferences() -> dict:
    """Address, language, acknowledgements, and per account in the user's scope what reaches them and why."""
    user = _me()
    with session_scope(services().engine) as conn:
        settings = people.settings_of(conn, user.id)
        accounts = [_account_entry(row) for row in people.choices_of(conn, user.id, current_scope())]
    return {**settings, "digest_severities": list(DIGEST_SEVERITIES), "accounts": accounts}


def _choice(entry: object, index: int, readable: set[int] | None) -> tuple[int, list[str] | None, bool]:
    field = f"accounts[{index}]"
    if not isinstance(entry, dict):
        raise RuleError(field, "must be an object")
    account_id = optional_id(entry.get("account_id"), f"{field}.account_id")
    if account_id is None:
        raise RuleError(f"{field}.account_id", "is required")
    if readable is not None and account_id not in readable:
        raise Forbidden("account outside your scope")  # the tenant rule: nothing of an account you cannot read
    if entry.get("default") is True:
        return account_id, None, False
    severities = entry.get("severities")
    if not isinstance(severities, list) or any(s not in SEVERITIES for s in severities if isinstance(s, str)) \
            or not all(isinstance(s, str) for s in severities):
        raise RuleError(f"{field}.severities", "must be a list of critical, major, minor, warning (empty: none)")
    return account_id, [s for s in SEVERITIES if s in severities], flag(entry.get("digest", False), f"{field}.digest")


def save_my_preferences(body: dict) -> dict:
    """Save the user's settings (partial body); `accounts` entries replace the choice of the accounts they name."""
    user = _me()
    if not isinstance(body, dict):
        raise RuleError("body", "must be a JSON object")
    unknown = set(body) - {"email", "language", "on_ack", "accounts"}
    if unknown:
        raise RuleError(sorted(unknown)[0], "is not a preference")
    entries = body.get("accounts", [])
    if not isinstance(entries, list) or len(entries) > 500:
        raise RuleError("accounts", "must be a list of at most 500 entries")
    scope = current_scope()
    readable = None if scope.account_ids is None else set(scope.account_ids)
    choices = [_choice(entry, index, readable) for index, entry in enumerate(entries)]
    with session_scope(services().engine) as conn:
        before = people.settings_of(conn, user.id)
        merged = {**before, **{k: body[k] for k in ("email", "language", "on_ack") if k in body}}
        email = email_address(merged["email"]) if merged["email"] not in (None, "") else None
        if merged["language"] not in LANGUAGES:
            raise RuleError("language", "must be pt-BR or en")
        people.save_settings(conn, user.id, email, merged["language"], flag(merged["on_ack"], "on_ack"))
        for account_id, severities, digest in choices:
            people.save_choice(conn, user.id, account_id, severities, digest)
        audit(conn, "update", "notification_preferences", user.id, None, before=before,
               after={"email": email, "language": merged["language"], "on_ack": merged["on_ack"],
                      "accounts": [{"account_id": a, "severities": s, "digest": d} for a, s, d in choices]})
    return my_preferences()


def _readable_account(account_id: int) -> None:
    with session_scope(services().engine) as conn:
        if not people.account_in_scope(conn, current_scope(), account_id):
            raise NotFound(f"account {account_id} not found")


def account_recipients(account_id: int) -> dict:
    """Who may be a default recipient of the account (users who may read it) and who is one."""
    _readable_account(account_id)
    writable_account(account_id)
    with session_scope(services().engine) as conn:
        rows = people.candidates(conn, account_id)
    return {"account_id": account_id, "recipients": [r["username"] for r in rows if r["chosen"]],
            "candidates": [{"username": r["username"], "name": r["name"], "role": r["role"],
                            "has_email": r["has_email"]} for r in rows]}


def save_account_recipients(account_id: int, body: dict) -> dict:
    """The account's default recipients become the usernames given; each must be able to read the account."""
    _readable_account(account_id)
    writable_account(account_id)
    usernames = body.get("recipients") if isinstance(body, dict) else None
    if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames) or len(usernames) > 500:
        raise RuleError("recipients", "must be a list of usernames")
    with session_scope(services().engine) as conn:
        rows = {r["username"]: r for r in people.candidates(conn, account_id)}
        outside = sorted(set(usernames) - set(rows))
        if outside:
            raise RuleError("recipients", f"{outside[0]!r} is not an active user who may read this account")
        before = sorted(u for u, r in rows.items() if r["chosen"])
        people.replace_recipients(conn, account_id, [rows[u]["id"] for u in sorted(set(usernames))])
        audit(conn, "update", "notification_recipients", account_id, account_id, before={"recipients": before},
               after={"recipients": sorted(set(usernames))})
    return account_recipients(account_id)
