"""Rule templates (kinds, defaults, parameters) and the validation of a rule as a form or JSON gives it."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

SEVERITIES = ("critical", "major", "minor", "warning")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
PERIODS = ("hour", "day", "month")
DEVICE_KINDS = ("meter_silent", "meter_stuck", "night_flow", "spike")  # suppressed while their gateway is offline
_CLOCK = re.compile(r"^([01]\d|2[0-3]):00$")  # whole local hours: the hourly rollups are the data


@dataclasses.dataclass(frozen=True)
class Template:
    """What a new rule of this kind starts with; `params` lists every parameter the kind understands."""

    kind: str
    severity: str
    for_seconds: int
    clear_seconds: int
    params: dict[str, Any]
    enabled: bool = True


TEMPLATES = {t.kind: t for t in (
    # Clear only after 5 min online: a flapping gateway raises once and counts its drops.
    Template("gateway_offline", "major", 0, 300, {}),
    Template("meter_silent", "minor", 0, 0, {}),
    Template("meter_stuck", "minor", 0, 0, {"hours": 24}, enabled=False),
    # threshold in the metric's unit per period; budget + budget_pct: threshold = budget x pct / 100;
    # clear_threshold (default: threshold) is the hysteresis band.
    # per: one sum over the scope ('account') or each device on its own ('device').
    Template("consumption_above", "warning", 0, 0, {"period": "day", "per": "account", "threshold": None,
                                                    "clear_threshold": None, "budget": None, "budget_pct": None}),
    # Every local hour of [start, end) above floor for `nights` consecutive nights: a leak.
    Template("night_flow", "major", 0, 0, {"start": "02:00", "end": "05:00", "floor": 0.0, "nights": 3}),
    # One hour > factor x the median of the same local hour over the last `weeks` weeks.
    Template("spike", "minor", 0, 0, {"factor": 3.0, "weeks": 4, "min_samples": 7, "min_consumption": 0.0}),
    Template("ingest_stalled", "critical", 0, 0, {"minutes": 5}),
    # A gateway's last valid client certificate ends within `days`, then within `final_days`: one alarm
    # (and notification) at each mark, so a rotation forgotten after the first gets a second, louder call.
    Template("certificate_expiring", "warning", 0, 0, {"days": 30, "final_days": 7}),
)}


class RuleError(ValueError):
    """A field of a rule is wrong; `field` names it (e.g. 'params.threshold')."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _number(value: Any, field: str, low: float = 0.0, required: bool = False) -> float | None:
    if value is None or value == "":
        if required:
            raise RuleError(field, "is required")
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        raise RuleError(field, "must be a number") from None
    if number != number or number < low or number > 1e15:
        raise RuleError(field, f"must be a number from {low:g}")
    return number


def _integer(value: Any, field: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RuleError(field, "must be an integer") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise RuleError(field, f"must be an integer from {low} to {high}")
    return number


def optional_id(value: Any, field: str) -> int | None:
    """An id from a body: None, or a positive integer (not a bool, not a string)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise RuleError(field, "must be an integer id or null")
    return value


def flag(value: Any, field: str) -> bool:
    """A JSON boolean; "false" as a string is an error rather than true."""
    if not isinstance(value, bool):
        raise RuleError(field, "must be true or false")
    return value


def _clock(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise RuleError(field, "must be a whole local hour HH:00")
    return value


def _threshold_params(p: dict) -> dict:
    if p.get("period") not in PERIODS:
        raise RuleError("params.period", "must be hour, day or month")
    budget = _number(p.get("budget"), "params.budget")
    pct = _number(p.get("budget_pct"), "params.budget_pct")
    threshold = _number(p.get("threshold"), "params.threshold", required=budget is None)
    if budget is not None and pct is None:
        raise RuleError("params.budget_pct", "is required with a budget")
    clear = _number(p.get("clear_threshold"), "params.clear_threshold")
    limit = threshold if threshold is not None else budget * pct / 100
    if clear is not None and clear > limit:
        raise RuleError("params.clear_threshold", "must not exceed the threshold")
    if p.get("per") not in ("account", "device"):
        raise RuleError("params.per", "must be account or device")
    return {"period": p["period"], "per": p["per"], "threshold": threshold, "clear_threshold": clear, "budget": budget,
            "budget_pct": pct}


def _kind_params(kind: str, p: dict) -> dict:
    if kind == "consumption_above":
        return _threshold_params(p)
    if kind == "meter_stuck":
        return {"hours": _integer(p.get("hours"), "params.hours", 1, 24 * 31)}
    if kind == "night_flow":
        start, end = _clock(p.get("start"), "params.start"), _clock(p.get("end"), "params.end")
        if start == end:
            raise RuleError("params.end", "must differ from the start")
        return {"start": start, "end": end, "floor": _number(p.get("floor"), "params.floor", required=True),
                "nights": _integer(p.get("nights"), "params.nights", 1, 31)}
    if kind == "spike":
        return {"factor": _number(p.get("factor"), "params.factor", 1.0, required=True),
                "weeks": _integer(p.get("weeks"), "params.weeks", 1, 12),
                "min_samples": _integer(p.get("min_samples"), "params.min_samples", 1, 84),
                "min_consumption": _number(p.get("min_consumption"), "params.min_consumption", required=True)}
    if kind == "ingest_stalled":
        return {"minutes": _integer(p.get("minutes"), "params.minutes", 1, 1440)}
    if kind == "certificate_expiring":
        days = _integer(p.get("days"), "params.days", 2, 365)
        final = _integer(p.get("final_days"), "params.final_days", 1, 364)
        if final >= days:
            raise RuleError("params.final_days", "must be fewer than days")
        return {"days": days, "final_days": final}
    return {}


def validate_rule(body: dict, existing: dict | None = None) -> dict:
    """A complete, checked rule from a (partial, when editing) body; unknown kinds and fields are errors."""
    if not isinstance(body, dict):
        raise RuleError("body", "must be a JSON object")
    kind = (existing or {}).get("kind") or body.get("kind")
    if kind not in TEMPLATES:
        raise RuleError("kind", f"must be one of {', '.join(TEMPLATES)}")
    if existing is not None and body.get("kind", kind) != kind:
        raise RuleError("kind", "cannot change; create another rule")
    if not isinstance(body.get("params", {}), dict):
        raise RuleError("params", "must be an object")
    template = TEMPLATES[kind]
    base = existing or {"name": kind, "enabled": template.enabled, "severity": template.severity,
                        "for_seconds": template.for_seconds, "clear_seconds": template.clear_seconds,
                        "params": {}, "gateway_id": None, "device_id": None, "metric_id": None}
    merged = {**base, **{k: v for k, v in body.items() if k != "params"}}
    params = {**template.params, **(base.get("params") or {}), **(body.get("params") or {})}
    unknown = set(params) - set(template.params)
    if unknown:
        raise RuleError(f"params.{sorted(unknown)[0]}", "is not a parameter of this kind")
    if merged["severity"] not in SEVERITIES:
        raise RuleError("severity", "must be critical, major, minor or warning")
    name = str(merged.get("name") or "").strip()
    if not 1 <= len(name) <= 120:
        raise RuleError("name", "must have 1 to 120 characters")
    return {"kind": kind, "name": name, "enabled": flag(merged["enabled"], "enabled"), "severity": merged["severity"],
            "for_seconds": _integer(merged["for_seconds"], "for_seconds", 0, 604800),
            "clear_seconds": _integer(merged["clear_seconds"], "clear_seconds", 0, 604800),
            "gateway_id": optional_id(merged.get("gateway_id"), "gateway_id"),
            "device_id": optional_id(merged.get("device_id"), "device_id"),
            "metric_id": optional_id(merged.get("metric_id"), "metric_id"), "params": _kind_params(kind, params)}


def effective_threshold(params: dict) -> tuple[float, float]:
    """(raise above, clear at or below) of a consumption_above rule."""
    limit = params["threshold"] if params.get("threshold") is not None else params["budget"] * params["budget_pct"] / 100
    clear = params.get("clear_threshold")
    return limit, limit if clear is None else clear
