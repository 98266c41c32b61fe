"""The one JSON error body of every HTTP route: `{"error": {"code", "message", "parameter"}}`.

It sits in the lowest layer so the request guard, /metrics and /api/v1 all answer in the same shape.
"""
from __future__ import annotations

import flask


def json_error(status: int, code: str, message: str, parameter: str | None = None) -> tuple[flask.Response, int]:
    """A JSON error response; `parameter` names the query parameter or field at fault, else null."""
    return flask.jsonify({"error": {"code": code, "message": message, "parameter": parameter}}), status
