"""/api/v1/share-links: read-only presentation links per account (tds_dash.sharing.links).

Operators create, list and revoke the links of their accounts, admins of every account; viewers get a
403. The token (inside `url`) is returned once, by the POST: only a hash of its nonce is stored.
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask

from tds_dash.api.common import api_actor, blueprint, json_body, reject_unknown
from tds_dash.api.v1 import ApiError
from tds_dash.db import session_scope
from tds_dash.queries.filters import list_accounts
from tds_dash.sharing import links

STATUS = {"forbidden": 403, "not_found": 404, "invalid": 400}


def _refused(error: links.ShareLinkError) -> ApiError:
    code = "invalid_body" if error.code == "invalid" else error.code
    return ApiError(STATUS[error.code], code, error.message, error.field)


def _public(row: dict, now: datetime) -> dict:
    return {"id": row["id"], "account": row["account_slug"], "account_name": row["account_name"],
            "label": row["label"], "state": links.link_state(row, now), "created_by": row["created_by_name"],
            "created_at": row["created_at"].isoformat(), "expires_at": row["expires_at"].isoformat(),
            "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
            "last_used_at": row["last_used_at"].isoformat() if row["last_used_at"] else None}


def _account_id(actor, slug) -> int | None:
    if not isinstance(slug, str) or not slug.strip():
        raise ApiError(400, "invalid_body", "'account' (an account slug) is required", "account")
    with session_scope(actor.engine) as conn:
        found = next((a for a in list_accounts(conn, actor.scope) if a["slug"] == slug.strip()), None)
    if found is None:
        raise ApiError(404, "not_found", f"account {slug.strip()} not found", "account")
    return found["id"]


@blueprint.get("/share-links")
def list_share_links():
    """The caller's accounts' links (?account=<slug> for one), newest first, without their tokens."""
    actor = api_actor()
    slug = flask.request.args.get("account")
    try:
        rows = links.list_links(actor, _account_id(actor, slug) if slug is not None else None)
    except links.ShareLinkError as error:
        raise _refused(error) from None
    now = datetime.now(timezone.utc)
    return flask.jsonify({"total": len(rows), "data": [_public(row, now) for row in rows]})


@blueprint.post("/share-links")
def create_share_link():
    """A new link: {"account": slug, "days": 1-90 (7), "label": "..."}; the answer's `url` is shown once."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("account", "days", "label"))
    if not actor.can_manage:
        raise ApiError(403, "forbidden", "requires role admin or operator")
    try:
        row, token = links.create_link(actor, _account_id(actor, body.get("account")), body.get("days"),
                                       body.get("label"), flask.current_app.config["SECRET_KEY"])
    except links.ShareLinkError as error:
        raise _refused(error) from None
    path = f"/present/{token}"
    response = flask.jsonify({**_public(row, datetime.now(timezone.utc)), "path": path,
                              "url": flask.request.url_root.rstrip("/") + path})
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/share-links/{row['id']}"
    return response


@blueprint.delete("/share-links/<int:link_id>")
def revoke_share_link(link_id: int):
    """Revoke at once: the next request with that link is refused (and audited)."""
    try:
        links.revoke_link(api_actor(), link_id)
    except links.ShareLinkError as error:
        raise _refused(error) from None
    return "", 204
