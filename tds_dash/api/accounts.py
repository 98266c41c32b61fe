"""/api/v1/accounts: the caller's accounts; admins create and rename them; auto-provisioning on or off."""
from __future__ import annotations

import flask

from tds_dash.api.common import api_actor, blueprint, expect_saved, json_body, reject_unknown
from tds_dash.api.v1 import ApiError
from tds_dash.db import session_scope
from tds_dash.fleet import accounts as account_rules
from tds_dash.fleet import actions
from tds_dash.fleet.actor import Actor
from tds_dash.queries.filters import list_accounts


def _account(actor: Actor, slug: str) -> dict:
    with session_scope(actor.engine) as conn:
        found = next((a for a in list_accounts(conn, actor.scope) if a["slug"] == slug), None)
    if found is None:
        raise ApiError(404, "not_found", f"account {slug} not found")
    return found


@blueprint.get("/accounts")
def list_caller_accounts():
    """The accounts the caller may see (every account for admins), with their auto-provisioning switch."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        rows = list_accounts(conn, actor.scope)
    return flask.jsonify({"total": len(rows), "data": rows})


@blueprint.post("/accounts")
def create_account():
    """A new account (admins only)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("slug", "name", "auto_provision"))
    provision = body.get("auto_provision", True)
    if not isinstance(provision, bool):
        raise ApiError(400, "invalid_body", "'auto_provision' must be true or false", "auto_provision")
    expect_saved(account_rules.create_account(actor, body.get("slug"), body.get("name"), provision), actor)
    response = flask.jsonify(_account(actor, str(body["slug"]).strip()))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/accounts/{str(body['slug']).strip()}"
    return response


@blueprint.patch("/accounts/<slug>")
def update_account(slug: str):
    """Rename (admins) and/or switch auto-provisioning (operators of the account too, as on the gateways page)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("name", "auto_provision"))
    account = _account(actor, slug)
    if "auto_provision" in body and not isinstance(body["auto_provision"], bool):
        raise ApiError(400, "invalid_body", "'auto_provision' must be true or false", "auto_provision")
    if "name" in body:
        expect_saved(account_rules.rename_account(actor, account, body["name"]), actor)
    if "auto_provision" in body:
        expect_saved(actions.switch_auto_provision_outcome(account["id"], body["auto_provision"], actor), actor)
    return flask.jsonify(_account(actor, slug))
