"""Labels and table rows for the admin and token pages."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from tds_dash import i18n


def columns(language: str, prefix: str, fields: tuple[str, ...]) -> list[dict]:
    """AG Grid column definitions whose headers come from the catalogue (`prefix.field`)."""
    return [{"field": f, "headerName": i18n.t(f"{prefix}.{f}", language), "flex": 1} for f in fields]


def user_rows(users, slugs: dict[int, str]) -> list[dict]:
    return [{"id": u.id, "username": u.username, "name": u.name, "role": u.role, "active": u.active,
             "accounts": ", ".join(slugs.get(a, str(a)) for a in u.account_ids)} for u in users]


def audit_rows(entries: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    return [{"at": i18n.format_datetime(e["at"], zone, language), "username": e["username"], "action": e["action"],
             "entity": e["entity"], "entity_id": e["entity_id"],
             "change": json.dumps({"before": e["before"], "after": e["after"]}, ensure_ascii=False, default=str)
             if e["before"] or e["after"] else ""} for e in entries]


def token_rows(tokens: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    return [{"id": t["id"], "name": t["name"], "prefix": t["prefix"] + "…",
             "created": i18n.format_datetime(t["created_at"], zone, language),
             "last_used": i18n.format_datetime(t["last_used_at"], zone, language),
             "revoked": i18n.format_datetime(t["revoked_at"], zone, language) if t["revoked_at"] else ""}
            for t in tokens]
