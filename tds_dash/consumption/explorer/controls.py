"""Pure helpers behind the explorer's controls: URL state, presets ⇄ dates, drill-down links."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from tds_dash import i18n, periods

DEFAULT_PRESET = "this_month"
MODES = ("bars", "line")
TOP_STEP, TOP_MAX = 10, 100  # "Outros" clicked shows the next TOP_STEP devices, up to TOP_MAX


def _ids(value) -> list[int]:
    """'3' or '3,4' from a URL → [3] / [3, 4]; anything not an integer is dropped."""
    if not value:
        return []
    out = []
    for part in str(value).split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
    return out


def _top(value) -> int:
    """How many devices the bars show: a multiple of TOP_STEP within [TOP_STEP, TOP_MAX]."""
    number = int(value) if str(value or "").isdigit() else TOP_STEP
    return min(max(number // TOP_STEP * TOP_STEP, TOP_STEP), TOP_MAX)


def initial_state(query: dict, today: date) -> dict:
    """Control values from the page's query string (?preset= or ?from=&to=, &account=&gateway=&device=
    &metric=&granularity=&mode=&compare=1&top=): what url_search() writes."""
    first, last = periods.parse_day(query.get("from")), periods.parse_day(query.get("to"))
    if first and last and first <= last:
        preset = "custom"
    else:
        preset = query.get("preset") if query.get("preset") in periods.PRESETS[:-1] else DEFAULT_PRESET
        first, last = periods.preset_days(preset, today)
    granularity = query.get("granularity")
    return {
        "preset": preset, "first_day": first.isoformat(), "last_day": last.isoformat(),
        "granularity": granularity if granularity in periods.EXPLORER_GRANULARITIES else "auto",
        "metric": query.get("metric") or "energy_kwh",
        "accounts": _ids(query.get("account")), "gateways": _ids(query.get("gateway")),
        "devices": _ids(query.get("device")),
        "mode": query.get("mode") if query.get("mode") in MODES else "bars",
        "compare": query.get("compare") in ("1", "true"), "top": _top(query.get("top")),
    }


def _joined(values) -> str | None:
    items = [str(int(v)) for v in (values or [])]
    return ",".join(items) or None


def url_search(preset, start, end, accounts, gateways, devices, metric, granularity, mode, compare, top) -> str:
    """The query string that reopens this view (initial_state reads it back); defaults are left out, and a
    preset is kept as its name, so a bookmarked 'this month' stays this month."""
    query = {"preset": preset} if preset in periods.PRESETS[:-1] else {"from": start and str(start)[:10],
                                                                        "to": end and str(end)[:10]}
    query.update({"account": _joined(accounts), "gateway": _joined(gateways), "device": _joined(devices),
                  "metric": metric, "granularity": granularity if granularity != "auto" else None,
                  "mode": mode if mode != "bars" else None, "compare": "1" if compare else None,
                  "top": str(_top(top)) if _top(top) != TOP_STEP else None})
    pairs = {key: value for key, value in query.items() if value}
    return "?" + urlencode(pairs, safe=",") if pairs else ""


def shown_devices(top) -> int:
    """The device count a store request may ask for (the browser's value, clamped)."""
    return _top(top)


def expand_others(click_data: dict | None, top) -> int | None:
    """The next device count when the click was on 'Outros' (customdata device_id None), else None."""
    points = (click_data or {}).get("points") or []
    custom = points[0].get("customdata") if points else None
    if not custom or custom[0] is not None or _top(top) >= TOP_MAX:
        return None
    return _top(top) + TOP_STEP


def sync_dates(triggered: str | None, preset: str | None, start: str | None, end: str | None,
               today: date) -> tuple[str, str | None, str | None]:
    """(preset, start, end) after a change of either: a preset sets the dates; dates edited by hand
    turn the preset into 'custom' unless they are exactly a preset's."""
    if triggered == "preset" and preset in periods.PRESETS[:-1]:
        first, last = periods.preset_days(preset, today)
        return preset, first.isoformat(), last.isoformat()
    first, last = periods.parse_day(start), periods.parse_day(end)
    for name in periods.PRESETS[:-1]:
        if (first, last) == periods.preset_days(name, today):
            return name, start, end
    return "custom", start, end


def period_from_dates(start: str | None, end: str | None, zone: ZoneInfo) -> periods.Period:
    """The picked range; raises PeriodError when a date is missing or the range is reversed."""
    first, last = periods.parse_day(start), periods.parse_day(end)
    if first is None or last is None:
        raise periods.PeriodError("choose a start and an end date")
    if first > last:
        raise periods.PeriodError("the start date is after the end date")
    return periods.Period(first, last, zone)


def device_href(device_id: int, first_day: str, last_day: str) -> str:
    return f"/device/{int(device_id)}?" + urlencode({"from": first_day, "to": last_day})


def drilldown_href(click_data: dict | None) -> str | None:
    """The device page of a clicked bar (customdata [device_id, first_day, last_day]); None for 'others'."""
    points = (click_data or {}).get("points") or []
    custom = points[0].get("customdata") if points else None
    if not custom or custom[0] is None:
        return None
    return device_href(custom[0], custom[1], custom[2])


def explorer_href_for_bucket(bucket: str, granularity: str, zone: ZoneInfo, account=None, gateway=None,
                             metric: str | None = None) -> str:
    """The explorer over one overview bar: a month (by day) or a day (by hour)."""
    first = datetime.fromisoformat(bucket).astimezone(zone).date()
    last = periods.add_months(first, 1) - timedelta(days=1) if granularity == "month" else first
    query = {"from": first.isoformat(), "to": last.isoformat()}
    query.update({k: v for k, v in (("account", account), ("gateway", gateway), ("metric", metric)) if v})
    return "/explorer?" + urlencode(query)


def overview_click_href(click_data: dict | None, granularity: str, zone: ZoneInfo, account=None, gateway=None,
                        metric: str | None = None) -> str | None:
    """For the overview's bars, whose customdata is the bucket start."""
    points = (click_data or {}).get("points") or []
    custom = points[0].get("customdata") if points else None
    if not custom:
        return None
    return explorer_href_for_bucket(custom if isinstance(custom, str) else custom[0], granularity, zone, account,
                                    gateway, metric)


def gateway_choices(rows: list[dict], accounts, chosen) -> tuple[list[dict], list[int]]:
    """Gateway options of the chosen accounts (all when none), and the still valid part of the choice."""
    wanted = set(accounts or ())
    options = [{"label": f"{g['serial']} · {g['name']}", "value": g["id"]} for g in rows
               if not wanted or g["account_id"] in wanted]
    valid = {o["value"] for o in options}
    return options, [g for g in (chosen or []) if g in valid]


def device_choices(rows: list[dict], chosen) -> tuple[list[dict], list[int]]:
    options = [{"label": f"{d['gateway']}/{d['code']} · {d['name']}", "value": d["id"]} for d in rows]
    valid = {o["value"] for o in options}
    return options, [d for d in (chosen or []) if d in valid]


def metric_label(metric: dict, language: str) -> str:
    """A known metric's translated label, else its name and unit."""
    return i18n.metric_title(metric["name"], metric["unit"], language)
