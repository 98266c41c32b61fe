"""The store's cost as series and export columns, mirroring explorer.model.charted_series. Pure, exact.

Cost columns are titled with their unit ('GW-0101/MED-001 (R$)'); values are Decimals (None where a
bucket has no cost), written to CSV as plain decimal text and to Excel as numbers.
"""
from __future__ import annotations

from decimal import Decimal

from tds_dash.tariffs.money import stored_decimal

COST_UNIT = "R$"


def to_decimal(text) -> Decimal | None:
    """A stored decimal string or None (the store comes back from the browser: anything else is a ValueError)."""
    return None if text is None else stored_decimal(text)


def priced(store: dict | None) -> bool:
    """Whether the store holds costs to show (some account in view has a tariff for the metric)."""
    return bool(store) and (store.get("cost") or {}).get("status") in ("priced", "partial")


def _column_total(columns: list[list[Decimal | None]], count: int) -> list[Decimal | None]:
    out = []
    for i in range(count):
        values = [column[i] for column in columns if column[i] is not None]
        out.append(sum(values, Decimal(0)) if values else None)
    return out


def charted_costs(store: dict, mode: str) -> list[dict]:
    """Cost series in charted_series' order and keys: per device (+ others) for bars, the total for a line,
    and the previous period's total when comparing. Each: key, label, device_id, values (Decimal | None)."""
    if not priced(store):
        return []
    cost, count = store["cost"], len(store["buckets"])
    columns = [[to_decimal(v) for v in values] for values in cost["series"]]
    if mode == "bars":
        series = [{"key": s["label"], "label": s["label"], "device_id": s["device_id"], "values": values}
                  for s, values in zip(store["series"], columns)]
    else:
        series = [{"key": "total", "label": "total", "device_id": None, "values": _column_total(columns, count)}]
    if cost.get("previous") and store.get("previous"):
        values = [to_decimal(v) for v in cost["previous"]["values"]][:count]
        series.append({"key": "previous_total", "label": "previous_total", "device_id": None,
                       "values": values + [None] * (count - len(values))})
    return series


def cost_columns(store: dict, mode: str) -> dict[str, list[Decimal | None]]:
    """{'<series key> (R$)': values} for the export's chart table; empty without costs."""
    return {f"{s['key']} ({COST_UNIT})": s["values"] for s in charted_costs(store, mode)}


def device_costs(store: dict) -> list[Decimal | None]:
    """The cost of each row of store['devices'] (None: its account has no tariff, or nothing is priced)."""
    if not priced(store):
        return [None] * len(store.get("devices") or [])
    found = store["cost"]["devices"]
    return [to_decimal(found.get(str(d["device_id"]))) for d in store["devices"]]


def decimal_text(value: Decimal | None) -> str:
    """Plain decimal text for CSV ('12.5', never '1.25E+1'); empty for None."""
    return "" if value is None else format(value, "f")
