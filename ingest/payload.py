"""Telemetry message contract v1: decoding and validation, pure (no I/O), see docs/mqtt.md."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import msgspec

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS = 5000
MAX_FUTURE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_ABS_VALUE = 1e15
SUPPORTED_VERSIONS = {1}
_MAX_REMEMBERED = 200_000  # topics and names remembered as valid; a flood of new ones only costs the regex

TOPIC_PATTERN = re.compile(r"tds/([a-z0-9][a-z0-9-]{1,62})/([A-Za-z0-9][A-Za-z0-9_.-]{1,63})/telemetry")
DEVICE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
METRIC_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Patterns are used with fullmatch: `$` would let a trailing newline through.
# RFC 3339 requires the offset; a local time without one is ambiguous, so it is refused.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)")


class Rejection(Exception):
    """The whole message is refused; reason is a stable code listed in docs/mqtt.md."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Reading(NamedTuple):
    """A NamedTuple, built with tuple.__new__ on the hot path: a frozen dataclass cost ~1 µs per reading."""

    device: str
    metric: str
    value: float
    ts: datetime  # timezone-aware, UTC


_new_reading = tuple.__new__


@dataclasses.dataclass(frozen=True)
class ReadingProblem:
    index: int
    reason: str
    detail: str


class TelemetryMessage(NamedTuple):
    """A NamedTuple for the same reason as Reading: one is built per MQTT message."""

    account: str
    gateway: str
    sent_at: datetime
    seq: int | None
    readings: tuple[Reading, ...]
    problems: tuple[ReadingProblem, ...]  # readings refused individually; the others are kept


def topic_source(topic: str) -> tuple[str | None, str | None]:
    """(account, serial) as the topic names them, cut to column size, even when the topic is invalid: for the records."""
    parts = topic.split("/")
    return (parts[1][:64], parts[2][:64]) if len(parts) == 4 else (None, None)


_valid_topics: dict[str, tuple[str, str]] = {}  # a gateway publishes on one topic: matched once


def parse_topic(topic: str) -> tuple[str, str]:
    """Return (account slug, gateway serial) from tds/{account}/{gateway}/telemetry."""
    known = _valid_topics.get(topic)
    if known is not None:
        return known
    match = TOPIC_PATTERN.fullmatch(topic)
    if match is None:
        raise Rejection("invalid_topic", f"topic {topic[:200]!r} is not tds/{{account}}/{{gateway}}/telemetry")
    if len(_valid_topics) >= _MAX_REMEMBERED:
        _valid_topics.clear()
    _valid_topics[topic] = parsed = (match.group(1), match.group(2))
    return parsed


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise Rejection("invalid_json", f"duplicate key {key[:64]!r}")
        result[key] = value
    return result


_fast_decoder = msgspec.json.Decoder()
_READINGS_KEY = "readings"


def decode_json(payload: bytes) -> object:
    """Strict JSON: UTF-8 only, no duplicate keys; NaN/Infinity decode so that one reading can be refused.

    A compiled decoder (msgspec) takes what it provably decodes the same way (no duplicate key, objects
    only in the body and its readings, shallow); anything else is decided by the standard library's strict decoder,
    so every reason and detail in docs/mqtt.md stays the same (tests/test_payload.py compares both)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejection("payload_too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    body = _decode_common_shape(payload)
    return body if body is not None else decode_json_strict(payload)


def _decode_common_shape(payload: bytes) -> dict | None:
    """The document when msgspec and the strict decoder must agree on it; None: use the strict path."""
    try:
        body = _fast_decoder.decode(payload)
    except Exception:  # malformed, out of range, bad UTF-8, too deep: the strict path names the reason
        return None
    if type(body) is not dict:
        return None
    readings = body.get(_READINGS_KEY)
    objects = [item for item in readings if type(item) is dict] if type(readings) is list else []
    if payload.count(b"[") + payload.count(b"{") > _SHALLOW_BRACKETS and not _is_common_shape(body, objects):
        return None  # could be nested deeper than the strict decoder's recursion limit
    # msgspec keeps the last of duplicate keys: then the text has more keys than the objects have members.
    # Every key ends in '"' and a colon, so counting that never misses one; a string holding '":' (or
    # '\\":') only adds to the count, which sends the message to the strict path. With whitespace before
    # a colon (JSON allows it) the regex counts those keys too. Objects elsewhere than the body and its
    # readings are not in `members`: they also take the strict path.
    members = len(body) + sum([len(item) for item in objects])
    if b" :" in payload or b"\t:" in payload or b"\n:" in payload or b"\r:" in payload:
        return body if len(_KEY_END.findall(payload)) == members else None
    return body if payload.count(b'":') == members else None


_SHALLOW_BRACKETS = 500  # fewer brackets than this cannot nest past the stdlib decoder's recursion limit
_KEY_END = re.compile(rb'"[ \t\r\n]*:')


def _is_common_shape(body: dict, objects: list[dict]) -> bool:
    """An object of scalars whose readings are objects of scalars: nested three levels at most."""
    containers = (dict, list)
    if any(type(value) in containers for key, value in body.items() if key != _READINGS_KEY):
        return False
    if len(objects) != len(body.get(_READINGS_KEY, ())):
        return False
    return not any(type(value) in containers for item in objects for value in item.values())


def decode_json_strict(payload: bytes) -> object:
    """The reference decoder (standard library, duplicate keys refused); the fast path defers to it."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejection("payload_too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejection("invalid_encoding", f"not UTF-8 at byte {error.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=float)
    except RecursionError:
        raise Rejection("invalid_json", "nesting too deep") from None
    except json.JSONDecodeError as error:
        raise Rejection("invalid_json", f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError as error:  # e.g. an integer literal beyond Python's 4300-digit limit
        raise Rejection("invalid_json", str(error)[:120]) from None


def parse_timestamp(raw: object, field: str) -> datetime:
    """RFC 3339 with an offset, or integer epoch milliseconds; returns an aware UTC datetime."""
    if isinstance(raw, bool):
        raise Rejection("invalid_timestamp", f"{field} must be RFC 3339 text or epoch milliseconds")
    if isinstance(raw, int):
        if not 0 <= raw <= 32_503_680_000_000:  # year 3000
            raise Rejection("invalid_timestamp", f"{field}={raw} is not plausible epoch milliseconds")
        return datetime.fromtimestamp(raw / 1000, tz=timezone.utc)
    match = RFC3339.fullmatch(raw) if isinstance(raw, str) and len(raw) <= 40 else None
    if match is not None:
        fraction, offset = match.group(1, 2)
        text = raw
        if fraction is not None and len(fraction) > 7:  # Python keeps microseconds; drop the rest
            text = text[:match.start(1) + 7] + text[match.end(1):]
        if offset in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text).astimezone(timezone.utc)
        except (ValueError, OverflowError):  # e.g. day 31 of April, or year 1 shifted before year 1
            pass
    raise Rejection("invalid_timestamp", f"{field}={str(raw)[:60]!r} is not RFC 3339 with offset nor epoch ms")


def _check_instant(ts: datetime, now: datetime, field: str) -> None:
    if ts > now + MAX_FUTURE:
        raise Rejection("future_timestamp", f"{field} {ts.isoformat()} is more than 5 min ahead of {now.isoformat()}")
    if ts < EARLIEST:
        raise Rejection("invalid_timestamp", f"{field} {ts.isoformat()} is before 2000-01-01")


MESSAGE_FIELDS = frozenset({"v", "ts", "seq", "readings"})
READING_FIELDS = frozenset({"device", "metric", "value", "ts"})
# Device codes and metric names repeat in every message of a gateway: a name once matched is remembered
# (bounded: a flood of distinct names only costs the regex again).
_valid_devices: set[str] = set()
_valid_metrics: set[str] = set()


def _valid_name(name: object, pattern: re.Pattern, remembered: set[str]) -> bool:
    if type(name) is str and name in remembered:
        return True
    if not isinstance(name, str) or not pattern.fullmatch(name):
        return False
    if len(remembered) >= _MAX_REMEMBERED:
        remembered.clear()
    remembered.add(name)
    return True


def _parse_reading(raw: object, index: int, default_ts: datetime, now: datetime) -> Reading:
    if not isinstance(raw, dict):
        raise Rejection("invalid_schema", f"readings[{index}] is not an object")
    if not READING_FIELDS.issuperset(raw):
        unknown = set(raw) - READING_FIELDS
        raise Rejection("invalid_schema", f"readings[{index}] has unknown field(s) {sorted(unknown)[:5]}")
    device, metric, value = raw.get("device"), raw.get("metric"), raw.get("value")
    if not _valid_name(device, DEVICE_PATTERN, _valid_devices):
        raise Rejection("invalid_device", f"readings[{index}].device must match {DEVICE_PATTERN.pattern}")
    if not _valid_name(metric, METRIC_PATTERN, _valid_metrics):
        raise Rejection("invalid_metric", f"readings[{index}].metric must match {METRIC_PATTERN.pattern}")
    kind = type(value)
    if kind is not float and (kind is bool or not isinstance(value, (int, float))):
        raise Rejection("invalid_value", f"readings[{index}].value is not a number")
    if kind is float and not math.isfinite(value):
        raise Rejection("non_finite_value", f"readings[{index}].value is {value}")
    if abs(value) > MAX_ABS_VALUE:
        raise Rejection("invalid_value", f"readings[{index}].value exceeds ±1e15")
    ts = default_ts
    raw_ts = raw.get("ts")
    if raw_ts is not None:
        ts = parse_timestamp(raw_ts, f"readings[{index}].ts")
        _check_instant(ts, now, f"readings[{index}].ts")
    return _new_reading(Reading, (device, metric, float(value), ts))


_NOTHING_REMEMBERED: frozenset[str] = frozenset()


def parse_message(topic: str, payload: bytes, now: datetime | None = None,
                  clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), *,
                  fast: bool = True) -> TelemetryMessage:
    """Decode and validate one MQTT message; raises Rejection when nothing in it can be kept.

    fast=False takes the reference path (the stdlib decoder, every reading through _parse_reading):
    the same result, slower; tests/test_payload.py checks the two agree."""
    now = now or clock()
    account, gateway = parse_topic(topic)
    body = decode_json(payload) if fast else decode_json_strict(payload)
    if not isinstance(body, dict):
        raise Rejection("invalid_schema", "body must be a JSON object")
    if not MESSAGE_FIELDS.issuperset(body):
        unknown = set(body) - MESSAGE_FIELDS
        raise Rejection("invalid_schema", f"unknown field(s) {sorted(unknown)[:5]}")
    version = body.get("v")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise Rejection("unsupported_version", f"v={str(version)[:20]!r}; supported: {sorted(SUPPORTED_VERSIONS)}")
    if "ts" not in body:
        raise Rejection("invalid_schema", "ts (message time) is required")
    sent_at = parse_timestamp(body["ts"], "ts")
    _check_instant(sent_at, now, "ts")
    seq = body.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63):
        raise Rejection("invalid_schema", "seq must be a non-negative integer")
    raw_readings = body.get("readings")
    if not isinstance(raw_readings, list) or not raw_readings:
        raise Rejection("invalid_schema", "readings must be a non-empty array")
    if len(raw_readings) > MAX_READINGS:
        raise Rejection("too_many_readings", f"{len(raw_readings)} readings > {MAX_READINGS}")
    readings, problems = [], []
    devices, metrics = (_valid_devices, _valid_metrics) if fast else (_NOTHING_REMEMBERED, _NOTHING_REMEMBERED)
    for index, raw in enumerate(raw_readings):
        # The usual reading, with names already matched once and the message's time: accepted here
        # without a call; anything else (or anything wrong) goes through _parse_reading's checks in order.
        if type(raw) is dict and READING_FIELDS.issuperset(raw) and raw.get("ts") is None:
            device, metric, value = raw.get("device"), raw.get("metric"), raw.get("value")
            kind = type(value)
            if (type(device) is str and device in devices and type(metric) is str and metric in metrics
                    and (kind is float or kind is int) and -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE):
                readings.append(_new_reading(Reading, (device, metric, float(value), sent_at)))
                continue
        try:
            readings.append(_parse_reading(raw, index, sent_at, now))
        except Rejection as problem:
            problems.append(ReadingProblem(index, problem.reason, problem.detail))
    if not readings:
        first = problems[0]
        raise Rejection(first.reason, f"no valid reading; {first.detail}")
    return TelemetryMessage(account, gateway, sent_at, seq, tuple(readings), tuple(problems))
