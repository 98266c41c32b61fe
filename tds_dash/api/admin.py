"""/api/v1/users (admins) and /api/v1/tokens (the caller's own): the rules of tds_dash.auth.users, as on /admin."""
from __future__ import annotations

import flask

from tds_dash.api.common import api_actor, blueprint, json_body, plain, reject_unknown, require_admin
from tds_dash.api.v1 import ApiError
from tds_dash.auth import users as user_rules
from tds_dash.context import current_user
from tds_dash.db import session_scope
from tds_dash.queries import users as user_queries


def _user_json(row: user_queries.UserRow, slugs: dict[int, str]) -> dict:
    return {"id": row.id, "username": row.username, "name": row.name, "role": row.role, "active": row.active,
            "accounts": [slugs.get(account_id, str(account_id)) for account_id in row.account_ids]}


def _slugs(conn) -> dict[int, str]:
    return {a["id"]: a["slug"] for a in user_queries.list_all_accounts(conn)}


def _input_error(error: user_rules.UserInputError) -> ApiError:
    """The admin form's message; the field is the word it starts with when that names one."""
    message = str(error)
    if "taken" in message:
        return ApiError(409, "conflict", message, "username")
    field = next((name for name in ("username", "password", "role", "account", "token name")
                  if message.startswith(name) or name in message.split(":")[0]), None)
    field = {"account": "accounts", "token name": "name"}.get(field, field)
    return ApiError(422, "invalid_fields", message, field)


def _accounts_arg(body: dict, default: list[str]) -> list[str]:
    value = body.get("accounts", default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "invalid_body", "'accounts' must be a list of account slugs", "accounts")
    return value


def _text_arg(body: dict, name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ApiError(400, "invalid_body", f"'{name}' must be a string", name)
    return value


@blueprint.get("/users")
def list_users():
    actor = api_actor()
    require_admin(actor)
    with session_scope(actor.engine) as conn:
        slugs = _slugs(conn)
        rows = [_user_json(row, slugs) for row in user_queries.list_users(conn)]
    return flask.jsonify({"total": len(rows), "data": rows})


def _read_user(engine, username: str, status: int = 200):
    with session_scope(engine) as conn:
        row = user_queries.get_user_by_username(conn, username)
        if row is None:
            raise ApiError(404, "not_found", f"user {username} not found")
        response = flask.jsonify(_user_json(row, _slugs(conn)))
    response.status_code = status
    return response


@blueprint.post("/users")
def create_user():
    """A new user with role and accounts (admins only); the password is never echoed."""
    actor, body = api_actor(), json_body()
    require_admin(actor)
    reject_unknown(body, ("username", "name", "password", "role", "accounts"))
    username = _text_arg(body, "username").strip().lower()
    try:
        user_rules.create_user(actor.engine, current_user(), username, _text_arg(body, "name"),
                               _text_arg(body, "password"), _text_arg(body, "role", "viewer"),
                               _accounts_arg(body, []))
    except user_rules.UserInputError as error:
        raise _input_error(error) from None
    return _read_user(actor.engine, username, 201)


@blueprint.patch("/users/<username>")
def update_user(username: str):
    """Change name, role, accounts or disable (active=false); their sessions end at their next request."""
    actor, body = api_actor(), json_body()
    require_admin(actor)
    reject_unknown(body, ("name", "role", "accounts", "active"))
    with session_scope(actor.engine) as conn:
        row = user_queries.get_user_by_username(conn, username)
        slugs = _slugs(conn)
    if row is None:
        raise ApiError(404, "not_found", f"user {username} not found")
    active = body.get("active", row.active)
    if not isinstance(active, bool):
        raise ApiError(400, "invalid_body", "'active' must be true or false", "active")
    accounts = _accounts_arg(body, [slugs[a] for a in row.account_ids if a in slugs])
    try:
        user_rules.update_user(actor.engine, current_user(), row.id, _text_arg(body, "name", row.name),
                               _text_arg(body, "role", row.role), active, accounts)
    except user_rules.UserInputError as error:
        raise _input_error(error) from None
    return _read_user(actor.engine, username)


@blueprint.get("/tokens")
def list_tokens():
    """The caller's own tokens (never their secrets)."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        rows = user_queries.list_tokens(conn, current_user().id)
    return flask.jsonify({"total": len(rows), "data": [plain(row) for row in rows]})


@blueprint.post("/tokens")
def create_token():
    """A new token of the caller; its secret is in this response only."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("name",))
    try:
        token_id, secret = user_rules.create_token_record(actor.engine, current_user(), _text_arg(body, "name"))
    except user_rules.UserInputError as error:
        raise _input_error(error) from None
    response = flask.jsonify({"id": token_id, "name": _text_arg(body, "name").strip(), "prefix": secret[:10],
                              "secret": secret})
    response.status_code = 201
    return response


@blueprint.delete("/tokens/<token_id>")
def revoke_token(token_id: str):
    """Revoke one of the caller's tokens, at once."""
    actor = api_actor()
    if not token_id.isdigit() or len(token_id) > 18:
        raise ApiError(404, "not_found", f"token {token_id} not found")
    try:
        user_rules.revoke_token(actor.engine, current_user(), int(token_id))
    except user_rules.UserInputError:
        raise ApiError(404, "not_found", f"token {token_id} not found or already revoked") from None
    return flask.jsonify({"id": int(token_id), "revoked": True})
