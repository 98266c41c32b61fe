"""/api/v1: consumption buckets and raw readings as JSON or CSV (docs/api.md, docs/openapi.yaml).

The numbers come from the same query functions as the explorer and the device page. Bad parameters get
a 400 with a JSON body naming the parameter; a device that does not exist or lies outside the caller's
scope is a 404 (the two are not told apart, so ids cannot be probed).
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Iterator
from datetime import datetime

import flask
import pandas as pd
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from tds_dash import periods
from tds_dash.api import bucket_costs, limits
from tds_dash.context import current_scope, services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.exports import safe_rows
from tds_dash.queries import consumption, devices

blueprint = flask.Blueprint("api_v1", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

MAX_DEVICES = 50
MAX_READINGS = 100_000
STREAM_ROWS = 2_000  # rows serialised per chunk of a streamed body: memory stays flat, the first bytes leave early

# Hooks on the blueprint itself (it is shared by every app the tests build); the counter is per app.
limits.limit_in_flight(blueprint)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.parameter = status, code, message, parameter


@blueprint.errorhandler(ApiError)
def api_error_response(error: ApiError):
    return json_error(error.status, error.code, error.message, error.parameter or None)


@blueprint.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded):
    return error.get_response()  # the JSON body built by limits._on_rate_breach


def unexpected_error(error: Exception):
    """Catch-all of /api/v1 blueprints: our ApiError (also raised by app-wide checks), the rate limiter's own
    429, other HTTP errors in the one body, anything else a logged 500."""
    if isinstance(error, ApiError):
        return api_error_response(error)
    if isinstance(error, HTTPException):
        if error.code == 429 and error.response is not None:
            return error.response  # the rate limiter's own answer (rate_limited, Retry-After)
        return json_error(error.code or 500, "http_error", error.description or error.name)
    log.exception("api/v1 request failed")
    return json_error(500, "internal_error", type(error).__name__)


blueprint.register_error_handler(Exception, unexpected_error)


def _required(name: str) -> str:
    value = flask.request.args.get(name, "").strip()
    if not value:
        raise ApiError(400, "missing_parameter", f"'{name}' is required", name)
    return value


def _device_ids() -> list[int]:
    parts = [part.strip() for part in _required("device").split(",")]
    if not all(part.isdigit() and len(part) < 19 for part in parts):
        raise ApiError(400, "invalid_parameter", "'device' must be one or more integer ids separated by commas",
                       "device")
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > MAX_DEVICES:
        raise ApiError(400, "invalid_parameter", f"at most {MAX_DEVICES} devices per request", "device")
    return ids


def _range() -> tuple[datetime, datetime]:
    zone = services().settings.zone
    bounds = []
    for name in ("from", "to"):
        try:
            bounds.append(periods.parse_instant(_required(name), zone))
        except periods.PeriodError as error:
            raise ApiError(400, "invalid_parameter", str(error), name) from None
    if bounds[0] >= bounds[1]:
        raise ApiError(400, "invalid_range", "'from' must be before 'to'", "from")
    return bounds[0], bounds[1]


def _format() -> str:
    value = flask.request.args.get("format", "json").strip().lower() or "json"
    if value not in {"json", "csv"}:
        raise ApiError(400, "invalid_parameter", "'format' must be json or csv", "format")
    return value


def _metric_id(conn) -> int | None:
    name = flask.request.args.get("metric", "").strip()
    if not name:
        return None
    metric = consumption.find_metric(conn, name)
    if metric is None:
        raise ApiError(400, "invalid_parameter", f"unknown metric {name!r}", "metric")
    return metric["id"]


def _granularity(start: datetime, end: datetime) -> str:
    days = (end - start).total_seconds() / 86400
    value = flask.request.args.get("granularity", "").strip() or periods.auto_granularity(math.ceil(days))
    if value not in periods.GRANULARITIES:
        raise ApiError(400, "invalid_parameter", "'granularity' must be hour, day or month", "granularity")
    if days > periods.MAX_DAYS[value]:
        raise ApiError(400, "range_too_large",
                       f"at most {periods.MAX_DAYS[value]} days per request with granularity={value}", "to")
    return value


def _cost_flag() -> bool:
    raw = flask.request.args.get("cost", "").strip().lower()
    if raw not in {"", "true", "false", "1", "0"}:
        raise ApiError(400, "invalid_parameter", "'cost' must be true or false", "cost")
    return raw in {"true", "1"}


def _devices(conn, ids: list[int]) -> list[dict]:
    found = [devices.find_device(conn, current_scope(), device_id) for device_id in ids]
    missing = [device_id for device_id, device in zip(ids, found) if device is None]
    if missing:
        raise ApiError(404, "not_found", f"device {missing[0]} not found")
    return [{"id": d["id"], "code": d["code"], "name": d["name"], "gateway": d["gateway"], "account": d["account"]}
            for d in found]


def _records(frame: pd.DataFrame, time_columns: tuple[str, ...], zone) -> Iterator[list[dict]]:
    """JSON-safe rows in chunks: local ISO 8601 times with offset, NaN as null (runs after the view returned)."""
    for start in range(0, len(frame), STREAM_ROWS):
        out = frame.iloc[start:start + STREAM_ROWS].copy()
        for column in time_columns:
            out[column] = out[column].map(lambda v: v.tz_convert(zone).isoformat())
        yield out.astype(object).where(out.notna(), None).to_dict("records")


def _csv_chunks(chunks: Iterator[list[dict]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rows in chunks:
        writer.writerows(safe_rows(rows))  # a spreadsheet opens this: text never starts a formula
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(meta: dict, count: int, chunks: Iterator[list[dict]]) -> Iterator[str]:
    """The same document jsonify built ({...meta, "count", "data"}), written piece by piece."""
    yield json.dumps({**meta, "count": count}, sort_keys=True)[:-1] + ', "data": ['
    separator = ""
    for rows in chunks:
        yield separator + ",".join(json.dumps(row, sort_keys=True) for row in rows)
        separator = ","
    yield "]}"


def _respond(meta: dict, frame: pd.DataFrame, time_columns: tuple[str, ...], columns: list[str], kind: str,
             output: str) -> flask.Response:
    """A streamed body: a 10 MB answer never sits whole in memory and its thread starts sending at once."""
    chunks = _records(frame, time_columns, services().settings.zone)
    if output == "csv":
        name = f"{kind}_{meta['from'][:10]}_{meta['to'][:10]}.csv"
        return flask.Response(_csv_chunks(chunks, columns), mimetype="text/csv",
                              headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return flask.Response(_json_chunks(meta, len(frame), chunks), mimetype="application/json")


def _meta(start: datetime, end: datetime, found: list[dict]) -> dict:
    zone = services().settings.zone
    return {"from": start.astimezone(zone).isoformat(), "to": end.astimezone(zone).isoformat(),
            "timezone": zone.key, "devices": found}


@blueprint.get("/consumption")
def get_consumption():
    """Rollup buckets per device and metric: consumption, min/avg/max, count (bucket start in [from, to))."""
    ids, (start, end), output, with_cost = _device_ids(), _range(), _format(), _cost_flag()
    granularity = _granularity(start, end)
    zone = services().settings.zone
    columns = ["device_id", "metric", "unit", "bucket", "consumption", "min", "avg", "max", "count"]
    with session_scope(services().engine) as conn:
        metric_id = _metric_id(conn)
        found = _devices(conn, ids)
        frame = consumption.device_series(conn, current_scope(), ids, granularity, start, end, zone, metric_id)
        if with_cost:  # exact cost per bucket from the account's tariff (tds_dash/api/bucket_costs.py)
            owners = {i: devices.find_device(conn, current_scope(), i)["account_id"] for i in ids}
            frame = bucket_costs.add_costs(conn, current_scope(), frame, owners, start, end, granularity, zone)
            columns += ["cost", "currency"]
    meta = {**_meta(start, end, found), "granularity": granularity}
    return _respond(meta, frame.drop(columns=["last_value", "last_ts"]), ("bucket",), columns, "consumption", output)


@blueprint.get("/readings")
def get_readings():
    """Raw readings, oldest first per device and metric; at most MAX_READINGS per request."""
    ids, (start, end), output = _device_ids(), _range(), _format()
    with session_scope(services().engine) as conn:
        _metric_id(conn)  # validates the name
        metric = flask.request.args.get("metric", "").strip() or None
        found = _devices(conn, ids)
        frame = devices.readings(conn, current_scope(), ids, start, end, MAX_READINGS + 1, metric)
    if len(frame) > MAX_READINGS:
        raise ApiError(400, "too_many_readings",
                       f"more than {MAX_READINGS} readings in this range: ask for a shorter one", "to")
    columns = ["device_id", "metric", "unit", "ts", "value", "consumption"]
    return _respond(_meta(start, end, found), frame, ("ts",), columns, "readings", output)
