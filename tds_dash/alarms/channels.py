"""Validation of a notification channel as a form or JSON body gives it (pure)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from tds_dash.alarms.rules import SEVERITIES, RuleError, flag

TYPES = ("email", "webhook")
LANGUAGES = ("pt-BR", "en")
_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def email_address(value: object, field: str = "email") -> str:
    """One e-mail address (no list, no display name), stripped; a RuleError naming `field` otherwise."""
    text = str(value or "").strip()
    if not _EMAIL.match(text):
        raise RuleError(field, "must be one e-mail address")
    return text


def _target(kind: str, target: object) -> str:
    text = str(target or "").strip()
    if kind == "email":
        return email_address(text, "target")
    if kind == "webhook":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 2000:
            raise RuleError("target", "must be an http:// or https:// URL")
    return text


def validate_channel(body: dict, existing: dict | None = None) -> dict:
    """A complete channel from a (partial, when editing) body; the type cannot change."""
    if not isinstance(body, dict):
        raise RuleError("body", "must be a JSON object")
    base = existing or {"name": "", "severities": list(SEVERITIES), "language": "pt-BR", "on_ack": False,
                        "enabled": True, "secret": None}
    kind = (existing or {}).get("type") or body.get("type")
    if kind not in TYPES or (existing is not None and body.get("type", kind) != kind):
        raise RuleError("type", "must be email or webhook (and cannot change)")
    merged = {**base, **body}
    severities = merged["severities"]
    if not isinstance(severities, list) or not severities or set(severities) - set(SEVERITIES):
        raise RuleError("severities", "must be a non-empty list of critical, major, minor, warning")
    if merged["language"] not in LANGUAGES:
        raise RuleError("language", "must be pt-BR or en")
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or not 16 <= len(secret) <= 200):
        raise RuleError("secret", "must have 16 to 200 characters")
    return {"type": kind, "name": str(merged.get("name") or "")[:120], "target": _target(kind, merged.get("target")),
            "secret": secret, "severities": [s for s in SEVERITIES if s in severities],
            "language": merged["language"], "on_ack": flag(merged["on_ack"], "on_ack"),
            "enabled": flag(merged["enabled"], "enabled")}
