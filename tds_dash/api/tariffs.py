"""/api/v1/cost and /api/v1/tariffs: exact costs per component and tariff CRUD through tds_dash.tariffs.service.

Money leaves as decimal strings (never floats) with its `currency`. Errors answer the one JSON body
(tds_dash.errors.json_error): 400 for a bad query parameter, 422 for a bad body field (its path as
`parameter`), 403 for viewers writing, 404 for an account, tariff or month missing or outside the scope.
"""
from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import flask

from tds_dash import periods
from tds_dash.api import limits
from tds_dash.api.common import api_actor, json_body, reject_unknown
from tds_dash.api.v1 import ApiError, unexpected_error
from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.fleet.actor import Actor
from tds_dash.queries.filters import list_accounts
from tds_dash.tariffs import service, statements
from tds_dash.tariffs.model import Tariff, TariffVersion, to_plain

blueprint = flask.Blueprint("api_tariffs", __name__, url_prefix="/api/v1")
limits.limit_in_flight(blueprint)  # the same per-user budget as every /api/v1 route
log = logging.getLogger(__name__)
MAX_ROW_ID = 2**63 - 1
QUERY_NAMES = {"start": "from", "end": "to"}  # the engine's names for what the query calls from/to


class _Missing(Exception):
    """A row missing or outside the caller's scope: a 404, never told apart."""


@blueprint.errorhandler(ApiError)
def _api_error(error: ApiError):
    return json_error(error.status, error.code, error.message, error.parameter or None)


@blueprint.errorhandler(service.TariffInputError)
def _invalid(error: service.TariffInputError):
    return json_error(422, "invalid_field", f"'{error.field}' {error.message}", error.field)


@blueprint.errorhandler(service.TariffPermissionError)
def _forbidden(error: service.TariffPermissionError):
    return json_error(403, "forbidden", "requires role admin or operator")


@blueprint.errorhandler(_Missing)
def _not_found(error: _Missing):
    return json_error(404, "not_found", str(error))


blueprint.register_error_handler(Exception, unexpected_error)  # the one catch-all of every /api/v1 blueprint


@blueprint.url_value_preprocessor
def _refuse_impossible_ids(endpoint, values) -> None:
    """An id no row can have is a 404 like any unknown id, never a database error."""
    tariff_id = (values or {}).get("tariff_id")
    if isinstance(tariff_id, int) and not 0 < tariff_id <= MAX_ROW_ID:
        raise _Missing("tariff not found")


def _writer(actor: Actor) -> service.Actor:
    """The tariff service's actor (user, role, address for the audit log) from the API caller."""
    return service.Actor(actor.user_id, actor.username, actor.role or "", actor.address)


def _accounts(conn, actor: Actor) -> dict[int, str]:
    return {row["id"]: row["slug"] for row in list_accounts(conn, actor.scope)}


def _account_id(conn, actor: Actor, slug, in_body: bool = False) -> int:
    """The id of an account slug in the caller's scope; 404 (query) or 422 (body field) otherwise."""
    found = next((i for i, s in _accounts(conn, actor).items() if s == str(slug or "").strip()), None)
    if found is None and in_body:
        raise service.TariffInputError("account", "unknown account")
    if found is None:
        raise _Missing(f"account {slug} not found")
    return found


def _tariff(conn, actor: Actor, tariff_id: int) -> Tariff:
    """The tariff with versions and surcharges, or a 404 when missing or outside the scope."""
    brief = next((t for t in service.list_tariffs(conn, actor.scope) if t.id == tariff_id), None)
    if brief is None:
        raise _Missing("tariff not found")
    return service.get_tariff(conn, actor.scope, brief.account_id, brief.metric)


def version_json(version: TariffVersion) -> dict:
    """A version in the shape POST .../versions takes (so it can be sent back), with its id."""
    plain = to_plain(version)
    for period in plain["periods"]:
        period["windows"] = [{"day_type": w["day_type"], "start": w["start_hour"], "end": w["end_hour"]}
                             for w in period["windows"]]
    return plain


def tariff_json(tariff: Tariff, slug: str, full: bool = True) -> dict:
    body = {"id": tariff.id, "account": slug, "metric": tariff.metric, "name": tariff.name,
            "holiday_subdivision": tariff.holiday_subdivision}
    if full:
        body["versions"] = [version_json(v) for v in tariff.versions]
        body["surcharges"] = to_plain(list(tariff.surcharges))
    return body


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _instant(name: str) -> datetime:
    raw = flask.request.args.get(name, "").strip()
    if not raw:
        raise ApiError(400, "missing_parameter", f"'{name}' is required", name)
    try:
        return periods.parse_instant(raw, services().settings.zone)
    except periods.PeriodError as error:
        raise ApiError(400, "invalid_parameter", str(error), name) from None


def _span() -> tuple[datetime, datetime, str]:
    start, end = _instant("from"), _instant("to")
    if start >= end:
        raise ApiError(400, "invalid_range", "'from' must be before 'to'", "from")
    days = (end - start).total_seconds() / 86400
    granularity = flask.request.args.get("granularity", "").strip() or periods.auto_granularity(int(days) + 1)
    if granularity not in periods.GRANULARITIES:
        raise ApiError(400, "invalid_parameter", "'granularity' must be hour, day or month", "granularity")
    if days > periods.MAX_DAYS[granularity]:
        raise ApiError(400, "range_too_large",
                       f"at most {periods.MAX_DAYS[granularity]} days per request with granularity={granularity}", "to")
    return start, end, granularity


def _breakdown_json(result: service.CostBreakdown, slug: str) -> dict:
    zone = services().settings.zone
    buckets = [{"bucket": b.bucket.astimezone(zone).isoformat(), "quantity": _text(b.quantity), "cost": _text(b.cost),
                "components": [{"component": c.component, "label": c.label, "quantity": _text(c.quantity),
                                "cost": _text(c.cost)} for c in b.components]} for b in result.buckets]
    return {"account": slug, "metric": result.metric, "unit": result.unit, "currency": result.currency,
            "granularity": result.granularity, "from": result.start.astimezone(zone).isoformat(),
            "to": result.end.astimezone(zone).isoformat(), "timezone": zone.key, "total": _text(result.total),
            "unpriced_quantity": _text(result.unpriced_quantity), "count": len(buckets), "buckets": buckets}


@blueprint.get("/cost")
def get_cost():
    """Exact cost of one account's metric per bucket and component: ?account=&metric=&from=&to=&granularity="""
    actor, (start, end, granularity) = api_actor(), _span()
    metric = flask.request.args.get("metric", "").strip()
    if not metric:
        raise ApiError(400, "missing_parameter", "'metric' is required", "metric")
    with session_scope(actor.engine) as conn:
        account = _account_id(conn, actor, flask.request.args.get("account"))
        try:
            if service.get_tariff(conn, actor.scope, account, metric) is None:
                raise _Missing(f"this account has no tariff for {metric!r}")
            result = service.cost_breakdown(conn, actor.scope, account, metric, start, end, granularity,
                                            services().settings.zone)
        except service.TariffInputError as error:  # a query parameter: 400, named as the query names it
            field = QUERY_NAMES.get(error.field, error.field)
            raise ApiError(400, "invalid_parameter", f"'{field}' {error.message}", field) from None
    return flask.jsonify(_breakdown_json(result, flask.request.args.get("account", "").strip()))


@blueprint.get("/tariffs")
def get_tariffs():
    """Tariffs of the caller's accounts (without versions): ?account=<slug>&metric="""
    actor, metric = api_actor(), flask.request.args.get("metric", "").strip()
    with session_scope(actor.engine) as conn:
        slugs = _accounts(conn, actor)
        account = flask.request.args.get("account", "").strip()
        wanted = _account_id(conn, actor, account) if account else None
        rows = [t for t in service.list_tariffs(conn, actor.scope, wanted) if not metric or t.metric == metric]
    return flask.jsonify({"count": len(rows), "data": [tariff_json(t, slugs[t.account_id], False) for t in rows]})


@blueprint.post("/tariffs")
def post_tariff():
    """A new tariff: {account: <slug>, metric, name, holiday_subdivision}."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("account", "metric", "name", "holiday_subdivision"))
    with session_scope(actor.engine) as conn:
        if actor.role not in service.MANAGER_ROLES:
            raise service.TariffPermissionError(actor.username)  # before the account: viewers learn nothing
        account = _account_id(conn, actor, body.get("account"), in_body=True)
        created = service.create_tariff(conn, actor.scope, _writer(actor), account, str(body.get("metric") or ""),
                                        body)
        slug = _accounts(conn, actor)[account]
    response = flask.jsonify(tariff_json(created, slug))
    response.status_code, response.headers["Location"] = 201, f"/api/v1/tariffs/{created.id}"
    return response


@blueprint.get("/tariffs/<int:tariff_id>")
def get_one_tariff(tariff_id: int):
    """One tariff with its versions (oldest first) and monthly surcharges."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        return flask.jsonify(tariff_json(tariff, _accounts(conn, actor)[tariff.account_id]))


@blueprint.patch("/tariffs/<int:tariff_id>")
def patch_tariff(tariff_id: int):
    """Rename a tariff or change its holiday state (partial body)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("name", "holiday_subdivision"))
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        data = {"name": tariff.name, "holiday_subdivision": tariff.holiday_subdivision, **body}
        service.update_tariff(conn, actor.scope, _writer(actor), tariff.account_id, tariff.metric, data)
        changed = _tariff(conn, actor, tariff_id)
        return flask.jsonify(tariff_json(changed, _accounts(conn, actor)[tariff.account_id]))


@blueprint.delete("/tariffs/<int:tariff_id>")
def delete_tariff(tariff_id: int):
    """The tariff with its versions and surcharges (the audit log keeps them)."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        service.delete_tariff(conn, actor.scope, _writer(actor), tariff.account_id, tariff.metric)
    return "", 204


@blueprint.post("/tariffs/<int:tariff_id>/versions")
def post_version(tariff_id: int):
    """Add a version from its valid_from on (one of the same date is replaced)."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("valid_from", "currency", "fixed_fee", "minimum_charge", "periods", "tiers", "taxes"))
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        saved = service.save_version(conn, actor.scope, _writer(actor), tariff.account_id, tariff.metric, body)
    return flask.jsonify(version_json(saved)), 201


@blueprint.put("/tariffs/<int:tariff_id>/surcharges/<month>")
def put_surcharge(tariff_id: int, month: str):
    """Enter or change one month's surcharge per unit: {value, label}."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("value", "label"))
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        saved = service.set_surcharge(conn, actor.scope, _writer(actor), tariff.account_id, tariff.metric,
                                      {**body, "month": month})
    return flask.jsonify(to_plain(saved))


@blueprint.get("/tariffs/<int:tariff_id>/statements/<month>")
def get_statement(tariff_id: int, month: str):
    """The month's statement as PDF (default) or CSV: lines per component in centavos adding up to the total."""
    actor, output = api_actor(), flask.request.args.get("format", "pdf").strip().lower() or "pdf"
    if output not in ("pdf", "csv"):
        raise ApiError(400, "invalid_parameter", "'format' must be pdf or csv", "format")
    with session_scope(actor.engine) as conn:
        tariff = _tariff(conn, actor, tariff_id)
        statement = statements.build_statement(conn, actor.scope, tariff.account_id, tariff.metric, month,
                                               services().settings.zone)
        slug = _accounts(conn, actor)[tariff.account_id]
    name = f"statement_{slug}_{tariff.metric}_{statement.month:%Y-%m}.{output}"
    body = (statements.statement_csv(statement, slug, actor.language) if output == "csv"
            else statements.statement_pdf(statement, slug, actor.language))
    return flask.Response(body, mimetype="text/csv" if output == "csv" else "application/pdf",
                          headers={"Content-Disposition": f'attachment; filename="{name}"'})
