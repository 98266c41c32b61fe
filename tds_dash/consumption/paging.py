"""AG Grid's infinite row model on our pages: its getRowsRequest read as (offset, limit, sort, descending).

The grids of a whole fleet (the explorer's totals, the overview's latest readings) ask the server for one
page at a time, sorted by the database; the data layer refuses a bad size or column with a ValueError.
"""
from __future__ import annotations

import json


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


def response(rows: list[dict], count: int, view: str | None = None) -> dict:
    """The getRowsResponse of one page; `view` names the controls (and refresh) it was read for."""
    return {"rowData": rows, "rowCount": count, "view": view}


def view_key(*controls) -> str:
    """The same text for the same controls and refresh tick: the page's store and the grid's last page carry it,
    and the grid asks again (purgeInfiniteCache) only when they differ — not once more at page load."""
    return json.dumps(controls, default=str, separators=(",", ":"))


def purge_script(grid_id: str) -> str:
    """A clientside callback (store, the grid's last response, its last request): drop the grid's pages when
    they are of another view than the store, or asked for and not come yet (that one may be of older
    controls). A grid that has not asked yet will ask itself, with the controls of now."""
    return ("function(store, shown, asked) { if (!store || !asked || (shown && shown.view === store.view)) {"
            " return; } try { dash_ag_grid.getApi(" + json.dumps(grid_id) + ").purgeInfiniteCache(); }"
            " catch (e) { /* the grid is not ready yet: it asks for its first page itself */ } }")
