"""POST /api/v1/gateways/import and /api/v1/devices/import: a CSV file, all rows or none (tds_dash.fleet.imports)."""
from __future__ import annotations

import flask

from tds_dash.api.common import api_actor, blueprint, flag, plain, read_body
from tds_dash.api.v1 import ApiError
from tds_dash.fleet import imports

MAX_CSV_BYTES = 2 * 1024 * 1024


def _file() -> bytes:
    """The CSV as the raw body (text/csv), or the `file` part of a multipart form."""
    if flask.request.mimetype == "multipart/form-data":
        if flask.request.content_length and flask.request.content_length > MAX_CSV_BYTES:
            raise ApiError(413, "body_too_large", f"request body over {MAX_CSV_BYTES} bytes")
        upload = flask.request.files.get("file")
        if upload is None:
            raise ApiError(400, "invalid_body", "send the CSV as the body (text/csv) or as the form field 'file'",
                           "file")
        data = upload.stream.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise ApiError(413, "body_too_large", f"file over {MAX_CSV_BYTES} bytes")
        return data
    return read_body(MAX_CSV_BYTES)


def _run(kind: str):
    actor = api_actor()
    dry_run = flag("dry_run")
    report = imports.import_csv(actor, kind, _file(), dry_run)
    if report.status == "forbidden":
        raise ApiError(403, "forbidden", report.problem)
    if report.problem:
        raise ApiError(400, "invalid_file", report.problem, "file")
    if report.errors:
        first = report.errors[0]
        body = {"code": "invalid_rows", "message": f"{len(report.errors)} problem(s) in the file: nothing was stored",
                "parameter": first["column"], "rows": plain(report.errors)}
        return flask.jsonify({"error": body}), 422
    return flask.jsonify({"dry_run": dry_run, "rows": report.rows, "created": len(report.created),
                          "ids": [item["id"] for item in report.created]}), 200 if dry_run else 201


@blueprint.post("/gateways/import")
def import_gateways():
    """Create gateways from CSV (account;serial;name;location;inactivity_timeout_s;active), all or none."""
    return _run("gateways")


@blueprint.post("/devices/import")
def import_devices():
    """Create devices from CSV (gateway;code;name;kind;active), all or none."""
    return _run("devices")
