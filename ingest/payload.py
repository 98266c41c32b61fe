"""Telemetry message contract v1: decoding and validation, pure (no I/O), see docs/mqtt.md."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS = 5000
MAX_FUTURE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_ABS_VALUE = 1e15
SUPPORTED_VERSIONS = {1}

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


@dataclasses.dataclass(frozen=True)
class Reading:
    device: str
    metric: str
    value: float
    ts: datetime  # timezone-aware, UTC


@dataclasses.dataclass(frozen=True)
class ReadingProblem:
    index: int
    reason: str
    detail: str


@dataclasses.dataclass(frozen=True)
class TelemetryMessage:
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


def parse_topic(topic: str) -> tuple[str, str]:
    """Return (account slug, gateway serial) from tds/{account}/{gateway}/telemetry."""
    match = TOPIC_PATTERN.fullmatch(topic)
    if match is None:
        raise Rejection("invalid_topic", f"topic {topic[:200]!r} is not tds/{{account}}/{{gateway}}/telemetry")
    return match.group(1), match.group(2)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise Rejection("invalid_json", f"duplicate key {key[:64]!r}")
        result[key] = value
    return result


def decode_json(payload: bytes) -> object:
    """Strict JSON: UTF-8 only, no duplicate keys; NaN/Infinity decode so that one reading can be refused."""
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
    if isinstance(raw, str) and len(raw) <= 40 and RFC3339.fullmatch(raw):
        text = raw.replace("z", "Z").replace("Z", "+00:00")
        fraction = re.search(r"\.(\d+)", text)
        if fraction and len(fraction.group(1)) > 6:  # Python keeps microseconds; drop the rest
            text = text.replace(fraction.group(0), "." + fraction.group(1)[:6])
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


def _parse_reading(raw: object, index: int, default_ts: datetime, now: datetime) -> Reading:
    if not isinstance(raw, dict):
        raise Rejection("invalid_schema", f"readings[{index}] is not an object")
    unknown = set(raw) - {"device", "metric", "value", "ts"}
    if unknown:
        raise Rejection("invalid_schema", f"readings[{index}] has unknown field(s) {sorted(unknown)[:5]}")
    device, metric, value = raw.get("device"), raw.get("metric"), raw.get("value")
    if not isinstance(device, str) or not DEVICE_PATTERN.fullmatch(device):
        raise Rejection("invalid_device", f"readings[{index}].device must match {DEVICE_PATTERN.pattern}")
    if not isinstance(metric, str) or not METRIC_PATTERN.fullmatch(metric):
        raise Rejection("invalid_metric", f"readings[{index}].metric must match {METRIC_PATTERN.pattern}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejection("invalid_value", f"readings[{index}].value is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise Rejection("non_finite_value", f"readings[{index}].value is {value}")
    if abs(value) > MAX_ABS_VALUE:
        raise Rejection("invalid_value", f"readings[{index}].value exceeds ±1e15")
    ts = default_ts
    if raw.get("ts") is not None:
        ts = parse_timestamp(raw["ts"], f"readings[{index}].ts")
        _check_instant(ts, now, f"readings[{index}].ts")
    return Reading(device=device, metric=metric, value=float(value), ts=ts)


def parse_message(topic: str, payload: bytes, now: datetime | None = None,
                  clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> TelemetryMessage:
    """Decode and validate one MQTT message; raises Rejection when nothing in it can be kept."""
    now = now or clock()
    account, gateway = parse_topic(topic)
    body = decode_json(payload)
    if not isinstance(body, dict):
        raise Rejection("invalid_schema", "body must be a JSON object")
    unknown = set(body) - {"v", "ts", "seq", "readings"}
    if unknown:
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
    for index, raw in enumerate(raw_readings):
        try:
            readings.append(_parse_reading(raw, index, sent_at, now))
        except Rejection as problem:
            problems.append(ReadingProblem(index, problem.reason, problem.detail))
    if not readings:
        first = problems[0]
        raise Rejection(first.reason, f"no valid reading; {first.detail}")
    return TelemetryMessage(account, gateway, sent_at, seq, tuple(readings), tuple(problems))
