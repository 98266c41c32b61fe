"""/api/v1/statements: the stored monthly statements of the caller's accounts, their PDF and CSV, and
(operators) writing or regenerating one. The checks are the Relatórios page's (tds_dash.statements.service).

404 for a statement or account missing or outside the caller's scope (not told apart), 403 for a viewer
writing, 422 for a bad body field, 400 for a bad query parameter.
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask

from tds_dash.api import limits
from tds_dash.api.common import api_actor, json_body, reject_unknown
from tds_dash.api.v1 import ApiError, api_error_response, unexpected_error
from tds_dash.context import Forbidden, services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.queries.filters import list_accounts
from tds_dash.statements import service
from tds_dash.tariffs.validation import TariffInputError

blueprint = flask.Blueprint("api_statements", __name__, url_prefix="/api/v1")
limits.limit_in_flight(blueprint)  # the same per-user budget as every /api/v1 route
MAX_ROW_ID = 2**63 - 1
MIME = {"pdf": "application/pdf", "csv": "text/csv"}

blueprint.register_error_handler(ApiError, api_error_response)


@blueprint.url_value_preprocessor
def _refuse_impossible_ids(endpoint, values) -> None:
    """An id no row can have is a 404 like any unknown id, never a database error."""
    if any(name.endswith("_id") and isinstance(value, int) and not 0 < value <= MAX_ROW_ID
           for name, value in (values or {}).items()):
        raise service.StatementMissing("no such statement")


@blueprint.errorhandler(service.StatementMissing)
def _not_found(error: service.StatementMissing):
    return json_error(404, "not_found", "statement not found")


@blueprint.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return json_error(403, "forbidden", "requires role admin or operator")


@blueprint.errorhandler(TariffInputError)
def _invalid(error: TariffInputError):
    if error.field == "account" and error.message == "unknown account":
        return json_error(404, "not_found", "account not found")
    return json_error(422, "invalid_field", f"'{error.field}' {error.message}", error.field)


blueprint.register_error_handler(Exception, unexpected_error)  # the one catch-all of every /api/v1 blueprint


def _slugs(conn, actor) -> dict[str, int]:
    return {row["slug"]: row["id"] for row in list_accounts(conn, actor.scope)}


def statement_json(row: dict) -> dict:
    """A statement without its files; money as a decimal string, the links to its files."""
    zone = services().settings.zone
    return {"id": row["id"], "account": row["account"], "account_name": row["account_name"],
            "period": f"{row['period']:%Y-%m}", "language": row["language"],
            "generated_at": row["generated_at"].astimezone(zone).isoformat(), "generated_by": row["generated_by"],
            "reason": row["reason"], "tariff_versions": row["tariff_versions"], "total": format(row["total"], "f"),
            "currency": "BRL", "current": row["superseded_at"] is None, "superseded_by": row["superseded_by"],
            "pdf": f"/api/v1/statements/{row['id']}.pdf", "csv": f"/api/v1/statements/{row['id']}.csv"}


@blueprint.get("/statements")
def get_statements():
    """Statements of the caller's accounts, newest month first: ?account=<slug>&superseded=true"""
    actor = api_actor()
    account = flask.request.args.get("account", "").strip()
    superseded = flask.request.args.get("superseded", "false").strip().lower()
    if superseded not in ("true", "false"):
        raise ApiError(400, "invalid_parameter", "'superseded' must be true or false", "superseded")
    with session_scope(actor.engine) as conn:
        slugs = _slugs(conn, actor)
        if account and account not in slugs:
            raise ApiError(404, "not_found", f"account {account} not found")
        rows = service.list_statements(conn, actor.scope, slugs.get(account), superseded == "true")
    return flask.jsonify({"count": len(rows), "data": [statement_json(r) for r in rows]})


@blueprint.post("/statements")
def post_statement():
    """Write (or, when one exists, regenerate) an account's statement for a month: {account, month: YYYY-MM}."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("account", "month"))
    if actor.role not in service.MANAGER_ROLES:
        raise Forbidden(actor.username)  # before the account: viewers learn nothing
    with session_scope(actor.engine) as conn:
        account = _slugs(conn, actor).get(str(body.get("account") or "").strip())
        if account is None:
            raise TariffInputError("account", "is not one of your accounts")
        new_id = service.generate_requested(conn, actor.scope, actor.role, account, body.get("month"),
                                            services().settings.zone, datetime.now(timezone.utc), actor.username)
        row = service.find(conn, actor.scope, new_id)
    response = flask.jsonify(statement_json(row))
    response.status_code, response.headers["Location"] = 201, f"/api/v1/statements/{new_id}"
    return response


@blueprint.get("/statements/<int:statement_id>")
def get_statement(statement_id: int):
    """One statement's details (without its files)."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        return flask.jsonify(statement_json(service.find(conn, actor.scope, statement_id)))


def _file(statement_id: int, kind: str):
    actor = api_actor()
    language = flask.request.args.get("lang", "").strip() or None
    if language is not None and language not in service.LANGUAGES:
        raise ApiError(400, "invalid_parameter", "'lang' must be pt-BR or en", "lang")
    with session_scope(actor.engine) as conn:
        row = service.find(conn, actor.scope, statement_id)
        body = service.file_of(conn, actor.scope, statement_id, kind, language)
    return flask.Response(body, mimetype=MIME[kind],
                          headers={"Content-Disposition": f'attachment; filename="{service.file_name(row, kind)}"'})


@blueprint.get("/statements/<int:statement_id>.pdf")
def get_statement_pdf(statement_id: int):
    """The statement's PDF as stored (pt-BR), or drawn in English from the same numbers: ?lang=en"""
    return _file(statement_id, "pdf")


@blueprint.get("/statements/<int:statement_id>.csv")
def get_statement_csv(statement_id: int):
    """The statement's CSV, with the same numbers as its PDF: ?lang=en"""
    return _file(statement_id, "csv")


@blueprint.post("/statements/<int:statement_id>/regenerate")
def regenerate_statement(statement_id: int):
    """A new statement of the same account and month with today's tariffs; the old one is superseded."""
    actor = api_actor()
    if actor.role not in service.MANAGER_ROLES:
        raise Forbidden(actor.username)
    with session_scope(actor.engine) as conn:
        new_id = service.regenerate(conn, actor.scope, actor.role, statement_id, services().settings.zone,
                                    datetime.now(timezone.utc), actor.username)
        row = service.find(conn, actor.scope, new_id)
    response = flask.jsonify(statement_json(row))
    response.status_code, response.headers["Location"] = 201, f"/api/v1/statements/{new_id}"
    return response



