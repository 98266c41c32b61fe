"""Validation of the gateway and device forms: pure (no I/O), messages in Portuguese and English.

Formats are the ones the rest of the system enforces: the serial is the {gateway} part of MQTT topics
(ingest/payload.py TOPIC_PATTERN, CHECK on gateways.serial), the device code the `device` field of a
reading (DEVICE_PATTERN, CHECK on devices.code); ranges match the CHECKs in sql/.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from tds_dash import i18n
from tds_dash.i18n.number_style import parse_number

SERIAL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,63}")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
TIMEOUT_RANGE = (10, 86400)           # gateways.inactivity_timeout_s CHECK
USUAL_INTERVAL_RANGE = (1, 7 * 86400)  # device_metrics.usual_interval_s (> 0); a week is the useful ceiling
ROLLOVER_RANGE = (1.0, 1e15)           # a reading's |value| is at most 1e15 (docs/mqtt.md)
NAME_MAX, LOCATION_MAX = 120, 200
METER_KINDS = ("counter", "delta", "gauge")
UNITS = ("kWh", "Wh", "MWh", "m³", "L", "kW", "W", "V", "A", "°C", "%", "L/min", "m³/h", "")
DEVICE_KINDS = ("energy_meter", "water_meter", "gas_meter", "temperature_sensor", "meter", "other")


@dataclasses.dataclass(frozen=True)
class FieldError:
    """A problem with one field: a message key and its parameters, translated when shown."""

    code: str
    params: tuple[tuple[str, Any], ...] = ()

    def message(self, language: str) -> str:
        values = {key: i18n.format_number(value, language, 0) if isinstance(value, (int, float)) else value
                  for key, value in self.params}
        return i18n.t(f"form.{self.code}", language, **values)


def _error(code: str, **params: Any) -> FieldError:
    return FieldError(code, tuple(sorted(params.items())))


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def _required_text(raw: Any, maximum: int) -> tuple[str, FieldError | None]:
    value = _text(raw)
    if not value:
        return value, _error("required")
    if len(value) > maximum:
        return value, _error("too_long", max=maximum)
    return value, None


def _pattern(raw: Any, pattern: re.Pattern, code: str) -> tuple[str, FieldError | None]:
    value = _text(raw)
    if not value:
        return value, _error("required")
    # fullmatch, never `$`: a trailing newline must not slip through.
    return value, None if pattern.fullmatch(value) else _error(code)


def parse_integer(raw: Any, low: int, high: int, required: bool = True, language: str | None = None
                  ) -> tuple[int | None, FieldError | None]:
    """A whole number typed in a form (or sent as a JSON number) within [low, high]; with a language, its
    grouping as displayed ('1.000.000' in pt-BR) is accepted."""
    if isinstance(raw, bool):
        return None, _error("integer")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
            return None, _error("integer")
        value = int(raw)
    else:
        text = _text(raw)
        if not text:
            return None, _error("required") if required else None
        number = parse_number(text, language) if language else None
        if number is not None and number.is_integer() and abs(number) < 1e12:
            value = int(number)
        elif re.fullmatch(r"[+-]?\d{1,12}", text):
            value = int(text)
        else:
            return None, _error("integer")
    if not low <= value <= high:
        return None, _error("range", low=low, high=high)
    return value, None


def parse_decimal(raw: Any, low: float, high: float, required: bool = True, language: str | None = None
                  ) -> tuple[float | None, FieldError | None]:
    """A number typed with either ',' or '.' as the decimal mark; with a language, also as the app displays
    it there ('1.000.000' and '1.000,5' in pt-BR); without one, thousands separators are refused (ambiguous)."""
    if isinstance(raw, bool):
        return None, _error("number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = _text(raw)
        if not text:
            return None, _error("required") if required else None
        number = parse_number(text, language)
        if number is None:
            return None, _error("number")
        value = number
    if not math.isfinite(value):
        return None, _error("number")
    if not low <= value <= high:
        return None, _error("range", low=low, high=high)
    return value, None


def _choice(raw: Any, choices) -> tuple[Any, FieldError | None]:
    if raw is None or (isinstance(raw, str) and raw == "" and "" not in choices):
        return None, _error("required")
    return (raw, None) if raw in choices else (None, _error("choice"))


def _collect(checks: dict[str, tuple[Any, FieldError | None]]) -> tuple[dict, dict[str, FieldError]]:
    clean = {name: value for name, (value, error) in checks.items() if error is None}
    errors = {name: error for name, (value, error) in checks.items() if error is not None}
    return clean, errors


def validate_gateway(raw: Mapping[str, Any], account_ids, language: str | None = None
                     ) -> tuple[dict, dict[str, FieldError]]:
    """(clean values, errors per field) for the gateway form; account_ids are the choosable accounts;
    numbers typed as text are read in `language`'s display format."""
    return _collect({
        "account_id": _choice(raw.get("account_id"), set(account_ids)),
        "serial": _pattern(raw.get("serial"), SERIAL_PATTERN, "serial_format"),
        "name": _required_text(raw.get("name"), NAME_MAX),
        "location": _optional_text(raw.get("location"), LOCATION_MAX),
        "inactivity_timeout_s": parse_integer(raw.get("inactivity_timeout_s"), *TIMEOUT_RANGE, language=language),
        "active": (bool(raw.get("active", True)), None),
    })


def _optional_text(raw: Any, maximum: int) -> tuple[str, FieldError | None]:
    value = _text(raw)
    return value, _error("too_long", max=maximum) if len(value) > maximum else None


def validate_device(raw: Mapping[str, Any], gateway_ids) -> tuple[dict, dict[str, FieldError]]:
    """(clean values, errors per field) for the device form's own fields (not its metrics)."""
    return _collect({
        "gateway_id": _choice(raw.get("gateway_id"), set(gateway_ids)),
        "code": _pattern(raw.get("code"), CODE_PATTERN, "code_format"),
        "name": _required_text(raw.get("name"), NAME_MAX),
        "kind": _choice(raw.get("kind"), DEVICE_KINDS),
        "active": (bool(raw.get("active", True)), None),
    })


def validate_metric(raw: Mapping[str, Any], language: str | None = None) -> tuple[dict, dict[str, FieldError]]:
    """One metric row of the device form: meter kind, unit, optional rollover and usual interval (numbers
    typed as text are read in `language`'s display format)."""
    kind = _choice(raw.get("meter_kind"), METER_KINDS)
    rollover = parse_decimal(raw.get("rollover_value"), *ROLLOVER_RANGE, required=False, language=language)
    if rollover[0] is not None and kind[0] is not None and kind[0] != "counter":
        rollover = (None, _error("rollover_counter_only"))
    return _collect({
        "meter_kind": kind,
        "unit": _choice(raw.get("unit") if raw.get("unit") is not None else "", UNITS),
        "rollover_value": rollover,
        "usual_interval_s": parse_integer(raw.get("usual_interval_s"), *USUAL_INTERVAL_RANGE, required=False,
                                          language=language),
    })
