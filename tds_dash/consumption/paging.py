"""AG Grid's infinite row model on our pages: its getRowsRequest read as (offset, limit, sort, descending).

The grids of a whole fleet (the explorer's totals, the overview's latest readings) ask the server for one
page at a time, sorted by the database; the data layer refuses a bad size or column with a ValueError.
"""
from __future__ import annotations


def grid_request(request: dict | None, page_size: int, sort: str, descending: bool) -> tuple[int, int, str, bool]:
    """(offset, limit, sort column, descending) of a getRowsRequest; the first page in the default order
    when the grid has not asked yet."""
    request = request or {}
    start, end = request.get("startRow", 0), request.get("endRow", page_size)
    for item in request.get("sortModel") or []:
        sort, descending = item.get("colId"), item.get("sort") != "asc"
        break  # one column at a time (the grid's default; multi-sort needs shift-click)
    limit = end - start if isinstance(end, int) and isinstance(start, int) else end
    return start, limit, sort, descending


def response(rows: list[dict], count: int) -> dict:
    """The getRowsResponse of one page."""
    return {"rowData": rows, "rowCount": count}
