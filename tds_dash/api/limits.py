"""Limits on /api/v1 so one token cannot stall the web app: a rate per user and requests in flight.

Both are per process (Flask-Limiter's memory storage, a counter under a lock): with N gunicorn workers a
user gets up to N times the numbers. A request over either limit gets a 429 with Retry-After and the
API's JSON error body; /api/health and the pages are not limited, and keep free threads because at most
`api_total_concurrency` API requests run at once.
"""
from __future__ import annotations

import math
import threading
import time

import flask
import flask_limiter
from flask_limiter import Limiter

from tds_dash.context import current_user
from tds_dash.settings import Settings

EXTENSION_KEY = "tds_api_limits"
BUSY_RETRY_SECONDS = 1  # a slot frees when a request ends: ask again soon


class InFlight:
    """Counts requests in flight per user and in total; refuses rather than queues when full."""

    def __init__(self, per_user: int, total: int) -> None:
        self.per_user, self.total = per_user, total
        self._lock = threading.Lock()
        self._by_user: dict[str, int] = {}
        self._running = 0

    def try_acquire(self, key: str) -> bool:
        with self._lock:
            if self._running >= self.total or self._by_user.get(key, 0) >= self.per_user:
                return False
            self._by_user[key] = self._by_user.get(key, 0) + 1
            self._running += 1
            return True

    def release(self, key: str) -> None:
        with self._lock:
            left = self._by_user.get(key, 0) - 1
            if left > 0:
                self._by_user[key] = left
            else:
                self._by_user.pop(key, None)
            self._running -= 1


def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> flask.Response:
    """The API's one error body, with parameter null: nothing the caller sent was wrong."""
    response = flask.jsonify({"error": {"code": code, "message": message, "parameter": None}})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def user_key() -> str:
    """Limits are per signed-in user or token owner (the guard has already refused everyone else)."""
    user = current_user()
    return f"user:{user.id}" if user else f"address:{flask.request.remote_addr}"


def _on_rate_breach(limit: flask_limiter.RequestLimit) -> flask.Response:
    retry_after = max(1, math.ceil(limit.window.reset_time - time.time()))
    return error_response(429, "rate_limited", f"more than {limit.limit} requests: retry in {retry_after} s",
                          retry_after)


def limit_in_flight(blueprint: flask.Blueprint) -> None:
    """Give every request of `blueprint` an in-flight slot; call once per blueprint, at import (blueprints are
    shared by every app the tests build, so per-app calls would stack the hooks)."""
    blueprint.before_request(take_slot)
    blueprint.after_request(hand_slot_to_response)
    blueprint.teardown_request(release_unhanded_slot)


def init_api_limits(server: flask.Flask, blueprints: tuple[flask.Blueprint, ...], settings: Settings) -> Limiter:
    """Rate-limit every /api/v1 blueprint per user and keep this app's in-flight counter (call after init_auth).

    The limit is shared: one user's requests to any of them count against the same budget."""
    limiter = Limiter(user_key, app=server, storage_uri="memory://", strategy="moving-window",
                      headers_enabled=False, key_prefix="tds-api")
    shared = limiter.shared_limit(settings.api_rate_limit, scope="api-v1", key_func=user_key,
                                  on_breach=_on_rate_breach)
    for blueprint in blueprints:
        shared(blueprint)
    server.extensions[EXTENSION_KEY] = InFlight(settings.api_concurrency, settings.api_total_concurrency)
    return limiter


def take_slot():
    """before_request of /api/v1: a slot for this request, or a 429 when the user (or the process) is full."""
    in_flight: InFlight = flask.current_app.extensions[EXTENSION_KEY]
    key = user_key()
    if not in_flight.try_acquire(key):
        return error_response(429, "rate_limited", f"at most {in_flight.per_user} requests in flight per user",
                              BUSY_RETRY_SECONDS)
    flask.g.api_slot = key
    return None


def _release_once(in_flight: InFlight, key: str):
    once = threading.Lock()  # taken by the first caller only: the body's end and the server's close both call

    def release() -> None:
        if once.acquire(blocking=False):
            in_flight.release(key)
    return release


def _guarded(body, release):
    try:
        yield from body
    finally:
        release()


def hand_slot_to_response(response: flask.Response) -> flask.Response:
    """after_request: a streamed body is still being sent after the view returns; its end frees the slot."""
    key = flask.g.pop("api_slot", None)
    if key is None:
        return response
    release = _release_once(flask.current_app.extensions[EXTENSION_KEY], key)
    if not response.is_streamed:
        release()
        return response
    # The body's end (or the server closing it, even unread) frees the slot, whichever comes first.
    response.response = _guarded(response.response, release)
    response.call_on_close(release)
    return response


def release_unhanded_slot(_error: BaseException | None) -> None:
    """teardown_request: a request that never reached after_request (an unhandled error) frees its slot."""
    key = flask.g.pop("api_slot", None)
    if key is not None:
        flask.current_app.extensions[EXTENSION_KEY].release(key)
