"""Creating and renaming accounts (admins): validated like the forms, audited like every write.

Turning auto-provisioning on or off stays in tds_dash.fleet.actions.switch_auto_provision (operators of
the account may, as on the gateways page).
"""
from __future__ import annotations

import re

from tds_dash import i18n
from tds_dash.db import session_scope
from tds_dash.fleet import validation
from tds_dash.fleet.actions import Outcome, audit
from tds_dash.fleet.actor import Actor
from tds_dash.queries import accounts as account_queries

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")  # accounts.slug CHECK: the {account} part of MQTT topics



def _forbidden(actor: Actor) -> Outcome:
    return Outcome(form_alert=i18n.t("fleet.forbidden", actor.language), status="forbidden")


def _name(raw) -> tuple[str, validation.FieldError | None]:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return text, validation.FieldError("required")
    if len(text) > validation.NAME_MAX:
        return text, validation.FieldError("too_long", (("max", validation.NAME_MAX),))
    return text, None


def create_account(actor: Actor, slug, name, auto_provision: bool = True) -> Outcome:
    """A new account (admins only); errors per field as the forms word them."""
    if not actor.is_admin:
        return _forbidden(actor)
    slug = "" if slug is None else str(slug).strip()
    errors = {} if SLUG_PATTERN.fullmatch(slug) else {"slug": validation.FieldError("slug_format" if slug
                                                                                      else "required")}
    name, name_error = _name(name)
    if name_error:
        errors["name"] = name_error
    if errors:
        return Outcome(errors=errors, form_alert=i18n.t("fleet.fix_fields", actor.language), status="invalid")
    with session_scope(actor.engine) as conn:
        account_id = account_queries.create_account(conn, slug, name, bool(auto_provision))
        if account_id is None:
            return Outcome(errors={"slug": validation.FieldError("slug_taken")},
                           form_alert=i18n.t("fleet.fix_fields", actor.language), status="invalid")
        audit(conn, "create", "account", account_id, account_id, None,
              {"slug": slug, "name": name, "auto_provision": bool(auto_provision)}, actor)
    return Outcome(saved=True, id=account_id, done="saved")


def rename_account(actor: Actor, account: dict, name) -> Outcome:
    """A new display name (admins only); the slug is fixed, it is part of every topic."""
    if not actor.is_admin:
        return _forbidden(actor)
    name, error = _name(name)
    if error:
        return Outcome(errors={"name": error}, form_alert=i18n.t("fleet.fix_fields", actor.language),
                       status="invalid")
    with session_scope(actor.engine) as conn:
        account_queries.rename_account(conn, account["id"], name)
        audit(conn, "update", "account", account["id"], account["id"], {"name": account["name"]}, {"name": name},
              actor)
    return Outcome(saved=True, id=account["id"], done="saved")
