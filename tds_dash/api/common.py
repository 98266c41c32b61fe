"""What every /api/v1 resource route shares: the blueprint, bodies, paging, ETags and outcome → HTTP status.

Routes here are thin: parse the request, call the function the pages call (tds_dash.fleet.actions,
tds_dash.auth.users, tds_dash.queries.*), answer JSON. Errors leave in the one body of tds_dash.errors,
with a `fields` (or `rows`) list added inside `error` when a form-like check named several problems.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import math
from datetime import date, datetime

import flask
from werkzeug.exceptions import HTTPException

from tds_dash.api import limits
from tds_dash.api.v1 import ApiError
from tds_dash.context import Forbidden, services
from tds_dash.errors import json_error
from tds_dash.fleet.actor import Actor, request_actor

blueprint = flask.Blueprint("api_v1_resources", __name__, url_prefix="/api/v1")
limits.limit_in_flight(blueprint)  # the same per-user budget as the consumption routes (tds_dash/api/limits.py)
log = logging.getLogger(__name__)

MAX_JSON_BYTES = 64 * 1024
MAX_LIMIT, DEFAULT_LIMIT = 500, 50
STATUS_OF = {"forbidden": 403, "missing": 404, "conflict": 412, "has_readings": 409, "invalid": 422}
CODE_OF = {"forbidden": "forbidden", "missing": "not_found", "conflict": "version_mismatch",
           "has_readings": "has_readings", "invalid": "invalid_fields"}


@blueprint.errorhandler(ApiError)
def _api_error(error: ApiError):
    return json_error(error.status, error.code, error.message, error.parameter or None)


class Refusal(Exception):
    """An Outcome that did not save, raised from a route; answered by refuse()."""

    def __init__(self, outcome, language: str, renames: dict[str, str] | None = None) -> None:
        super().__init__(outcome.status)
        self.outcome, self.language, self.renames = outcome, language, renames


def expect_saved(outcome, actor: Actor, renames: dict[str, str] | None = None):
    """The outcome when it saved; else the refusal (403/404/409/412/422) leaves the route."""
    if not outcome.saved:
        raise Refusal(outcome, actor.language, renames)
    return outcome


@blueprint.errorhandler(Refusal)
def _refusal(error: Refusal):
    return refuse(error.outcome, error.language, error.renames)


@blueprint.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return json_error(403, "forbidden", str(error))


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    if error.code == 429 and error.response is not None:
        return error.response  # the rate limiter's own answer: rate_limited with Retry-After (api/limits.py)
    code = {413: "body_too_large", 429: "rate_limited", 405: "method_not_allowed"}.get(error.code, "http_error")
    return json_error(error.code or 500, code, error.description or error.name)


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("api/v1 request failed")
    return json_error(500, "internal_error", type(error).__name__)


@blueprint.before_app_request
def _refuse_nul():
    """PostgreSQL text cannot hold NUL: a parameter carrying one is a 400 here, not a driver error (a 500)."""
    request = flask.request
    if not request.path.startswith("/api/v1/"):
        return
    for name, value in list(request.args.items(multi=True)) + list((request.view_args or {}).items()):
        if "\x00" in str(name) + str(value):
            raise ApiError(400, "invalid_parameter", "parameters cannot contain NUL characters", str(name))
    if "\x00" in request.path:
        raise ApiError(400, "invalid_parameter", "the path cannot contain NUL characters")


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def api_actor() -> Actor:
    """The caller, with messages in the language its Accept-Language asks for (else its cookie or the default)."""
    actor = request_actor()
    wanted = flask.request.accept_languages.best_match(["en", "pt-BR", "pt"])
    if wanted:
        actor = dataclasses.replace(actor, language="en" if wanted == "en" else "pt-BR")
    return actor


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("requires role admin")


def read_body(limit: int = MAX_JSON_BYTES) -> bytes:
    """The raw body, refused with 413 beyond `limit` bytes (whatever Content-Length claims)."""
    length = flask.request.content_length
    if length is not None and length > limit:
        raise ApiError(413, "body_too_large", f"request body over {limit} bytes")
    data = flask.request.stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"request body over {limit} bytes")
    return data


def json_body() -> dict:
    """A JSON object body (Content-Type application/json), at most MAX_JSON_BYTES."""
    data = read_body()
    if not flask.request.is_json:
        raise ApiError(400, "invalid_body", "send a JSON object with Content-Type: application/json")
    try:
        body = flask.json.loads(data or b"null")
    except ValueError:
        raise ApiError(400, "invalid_body", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    if _has_nul(body):
        raise ApiError(400, "invalid_body", "text cannot contain NUL characters")
    return body


def flag(name: str, default: bool = False) -> bool:
    raw = flask.request.args.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ApiError(400, "invalid_parameter", f"'{name}' must be true or false", name)


@dataclasses.dataclass(frozen=True)
class Paging:
    offset: int
    limit: int


def paging() -> Paging:
    """`limit` (1..500, default 50) and either an opaque `cursor` from a previous page or a 1-based `page`."""
    args = flask.request.args
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if args.get("cursor"):
        return Paging(_decode_cursor(args["cursor"]), limit)
    return Paging((_int_arg("page", 1, 1, 1_000_000) - 1) * limit, limit)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = flask.request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer from {low} to {high}", name)
    return int(raw)


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith("o:") or not text[2:].isdigit() or len(text) > 14:
        raise ApiError(400, "invalid_parameter", "'cursor' is not one this API handed out", "cursor")
    return int(text[2:])


def page_body(rows: list[dict], total: int, page: Paging) -> dict:
    """One page of a list with the cursor of the next one (null on the last page)."""
    following = page.offset + len(rows)
    cursor = base64.urlsafe_b64encode(f"o:{following}".encode()).decode().rstrip("=") if following < total else None
    return {"total": total, "limit": page.limit, "offset": page.offset, "next_cursor": cursor, "data": rows}


def plain(value):
    """JSON-safe: instants as ISO 8601 in the deployment's zone, NaN as null, bytes decoded."""
    if isinstance(value, datetime):
        return value.astimezone(services().settings.zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def if_match() -> int | None:
    """The version named by If-Match ("3", W/"3" or 3); None when absent or '*'."""
    raw = flask.request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    text = raw.removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise ApiError(400, "invalid_parameter", "If-Match must be the ETag of a response (\"<version>\")",
                       "If-Match")
    return int(text)


def with_etag(body: dict, status: int = 200):
    response = flask.jsonify(body)
    response.status_code = status
    if body.get("version") is not None:
        response.headers["ETag"] = f'"{body["version"]}"'
    return response


def field_errors(outcome, language: str, renames: dict[str, str] | None = None) -> list[dict]:
    """The form's field errors as [{field, code, message}], message in the form's own words."""
    renames = renames or {}
    found = [{"field": renames.get(name, name), "code": error.code, "message": error.message(language)}
             for name, error in outcome.errors.items()]
    for metric, errors in getattr(outcome, "metric_errors", {}).items():
        found += [{"field": f"metrics.{metric}.{name}", "code": error.code, "message": error.message(language)}
                  for name, error in errors.items()]
    return found


def refuse(outcome, language: str, renames: dict[str, str] | None = None):
    """The HTTP answer to an Outcome that did not save: 403, 404, 409, 412 or 422 in the one error body."""
    status = STATUS_OF.get(outcome.status, 400)
    message = outcome.form_alert or outcome.message or outcome.status
    body = {"code": CODE_OF.get(outcome.status, "invalid"), "message": message, "parameter": None}
    if outcome.status == "invalid":
        fields = field_errors(outcome, language, renames)
        body.update(parameter=fields[0]["field"] if fields else None, fields=fields)
    if outcome.status == "conflict":
        body["parameter"] = "If-Match"
    return flask.jsonify({"error": body}), status


def reject_unknown(body: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, "invalid_body", f"unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})",
                       unknown[0])


def parse_active(value) -> bool | None:
    """The `active` switch from JSON (true/false) or CSV text (true/false, 1/0, yes/no, sim/não); None: neither."""
    if isinstance(value, bool) or value is None:
        return True if value is None else value
    text = str(value).strip().lower()
    if text in ("", "true", "1", "yes", "sim"):
        return True
    if text in ("false", "0", "no", "não", "nao"):
        return False
    return None


def form_values(body: dict, fields: tuple[str, ...]) -> dict:
    """The form's raw values from a JSON body: the known fields given, and `active` as a strict boolean."""
    active = parse_active(body.get("active"))
    if active is None:
        raise ApiError(400, "invalid_body", "'active' must be true or false", "active")
    return {**{key: body[key] for key in fields if key in body}, "active": active}
