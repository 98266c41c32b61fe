"""The callback boundary: what a browser may send to /_dash-update-component, checked before any callback.

Dash passes whatever JSON a request holds straight to the callbacks (a crafted request sent account
`True`, page `"1; DROP"`, dates in 9999): a wrong type is refused here with a 400 and a logged warning,
never a 500. Rules go by property (`n_clicks` is a count, `active_page` a page number, dates ISO days
in a sane range), by component and property where a page declares one (`declare({"events-account.value": optional_id})`),
and for pattern-matching ids by key (`index`, `account` are ids). Client-held data (stores, clickData)
is checked by the callbacks that read it: `untrusted()` turns a shape error there into the same 400.
"""
from __future__ import annotations

import functools
import logging
import math
from datetime import date

import flask

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1  # bigint
MAX_TEXT = 2000
MAX_ITEMS = 500
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # periods outside this are typos or probes
ID_KEYS = ("index", "account")  # keys of pattern-matching ids that hold integers
_DECLARED: dict[str, object] = {}  # "component-id.property" -> rule, from declare()


class InvalidInput(ValueError):
    """A callback input of the wrong type or out of range: answered 400 and logged, never a 500."""


def _fail(what: str, value) -> InvalidInput:
    return InvalidInput(f"{what}: {type(value).__name__} {str(value)[:40]!r}")


def optional_id(value, what: str = "id") -> int | None:
    """None, or a database id (a positive integer within bigint; bools are not ids)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise _fail(what, value)
    return value


def id_list(value, what: str = "ids") -> list[int]:
    """None, one id or a list of ids -> a list of ids."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_ITEMS:
        raise _fail(what, value)
    return [v for v in (optional_id(item, what) for item in items) if v is not None]


def id_array(value, what: str = "ids") -> list[int]:
    """None or a list of ids (a multi-select dropdown's value) -> a list of ids."""
    if value is not None and not isinstance(value, list):
        raise _fail(what, value)
    return id_list(value or [], what)


def page_number(value, what: str = "page") -> int:
    """None (the first page) or a page number from 1."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**6:
        raise _fail(what, value)
    return value


def count(value, what: str = "count") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**53:
        raise _fail(what, value)
    return value


def iso_day(value, what: str = "date") -> date | None:
    """None, or an ISO date (a datetime's date part too) between FIRST_DAY and LAST_DAY."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        raise _fail(what, value) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _fail(what, value)
    return day


def _scalar(value, what: str) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise _fail(what, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(what, value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID:
        raise _fail(what, value)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise _fail(what, value)


def control_value(value, what: str = "value") -> None:
    """A control's value: a scalar or a flat list of scalars."""
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise _fail(what, value)
        for item in value:
            _scalar(item, what)
    else:
        _scalar(value, what)


def _text(value, what: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise _fail(what, value)


def _mapping(value, what: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise _fail(what, value)


def _rows(value, what: str) -> None:
    if value is not None and not (isinstance(value, list) and all(isinstance(row, dict) for row in value)):
        raise _fail(what, value)


def grid_rows_request(value, what: str = "getRowsRequest") -> None:
    """AG Grid's infinite-model request: row numbers, and a sort model of column names and asc/desc.
    (Sizes and column names are the callback's to judge: a page too big or a column unknown is refused there.)"""
    if value is None:
        return
    if not isinstance(value, dict):
        raise _fail(what, value)
    for key in ("startRow", "endRow"):
        row = value.get(key)
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row <= 2**31:
            raise _fail(f"{what}.{key}", row)
    sort_model = value.get("sortModel") or []
    if not isinstance(sort_model, list) or len(sort_model) > 20:
        raise _fail(f"{what}.sortModel", sort_model)
    for item in sort_model:
        if not isinstance(item, dict) or item.get("sort") not in ("asc", "desc"):
            raise _fail(f"{what}.sortModel", item)
        _text(item.get("colId"), f"{what}.sortModel.colId")
    _mapping(value.get("filterModel"), f"{what}.filterModel")


PROPERTY_RULES = {
    "n_clicks": count, "n_intervals": count, "n_submit": count, "active_page": page_number,
    "start_date": iso_day, "end_date": iso_day, "date": iso_day, "search": _text, "href": _text,
    "clickData": _mapping, "selectedData": _mapping, "selectedRows": _rows, "value": control_value,
    "getRowsRequest": grid_rows_request, "search_value": _text,
}


def declare(rules: dict) -> None:
    """Pages name the rule of a "component-id.property" (an account dropdown holds an id), at import."""
    _DECLARED.update(rules)


def record(optional: bool = True, **fields):
    """A rule: a dict (a store the server wrote, sent back by the browser) whose fields pass their rules."""
    def rule(value, what: str = "data") -> None:
        if value is None and optional:
            return
        if not isinstance(value, dict) or any(key not in value for key in fields):
            raise _fail(what, value)
        for key, field_rule in fields.items():
            field_rule(value[key], f"{what}.{key}")
    return rule


def text(value, what: str = "text") -> None:
    """None or a string of at most MAX_TEXT characters."""
    _text(value, what)


def text_list(value, what: str = "texts") -> None:
    """None or a list of strings (a multi-select of names)."""
    if value is None:
        return
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise _fail(what, value)
    for item in value:
        if not isinstance(item, str):
            raise _fail(what, item)
        _text(item, what)


def flag(value, what: str = "flag") -> None:
    if value is not None and not isinstance(value, bool):
        raise _fail(what, value)


def _check_pattern_id(component: dict) -> None:
    """Pattern-matching ids hold names and integers (row ids, positions, metric ids); ID_KEYS integers only."""
    for key, value in component.items():
        integer = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID
        if not integer and (key in ID_KEYS or not isinstance(value, str) or len(value) > MAX_TEXT):
            raise _fail(f"id.{key}", value)


def check_dependency(item) -> None:
    """One input or state of a request: {id, property, value}, or a list of them (pattern-matching)."""
    if isinstance(item, list):
        if len(item) > MAX_ITEMS:
            raise _fail("dependencies", item)
        for member in item:
            check_dependency(member)
        return
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise _fail("dependency", item)
    component, prop, value = item.get("id"), item["property"], item.get("value")
    if isinstance(component, dict):
        _check_pattern_id(component)
    elif not isinstance(component, str):
        raise _fail("dependency id", component)
    if prop == "pathname":  # the pages router needs a path; Dash's own code fails on anything else
        if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_TEXT:
            raise _fail("pathname", value)
    rule = _DECLARED.get(f"{component}.{prop}") if isinstance(component, str) else None
    rule = rule or PROPERTY_RULES.get(prop)
    if rule is not None:
        rule(value, f"{component}.{prop}" if isinstance(component, str) else prop)


def check_body(body, callback_map: dict) -> None:
    """A /_dash-update-component body naming a server callback, with well-typed inputs and state."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise _fail("body", body)
    spec = callback_map.get(body["output"])
    if spec is None or spec.get("callback") is None:  # unknown, or a clientside callback
        raise _fail("output", body["output"])
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise _fail("changedPropIds", changed)
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            raise _fail(key, items)
        for item in items:
            check_dependency(item)


def untrusted(function):
    """For callbacks that only render client-held data (a store, clickData): a shape error is a 400."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (TypeError, KeyError, ValueError, AttributeError, IndexError) as error:
            raise InvalidInput(f"{function.__name__}: malformed client data ({type(error).__name__}: {error})") from error
    return checked


def install(app) -> None:
    """Check every callback request before Dash runs it; InvalidInput anywhere in a callback -> 400."""
    server = app.server

    @server.before_request
    def _check_callback_request():
        if flask.request.method == "POST" and flask.request.path.endswith("/_dash-update-component"):
            check_body(flask.request.get_json(silent=True), app.callback_map)

    @server.errorhandler(InvalidInput)
    def _invalid_input(error: InvalidInput):
        log.warning("refused callback input on %s: %s", flask.request.path, error)
        return flask.jsonify({"error": {"code": "invalid_input", "message": str(error)}}), 400
