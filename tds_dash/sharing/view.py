"""The share-links page's pieces: the grid's columns and rows, and the account choices."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n
from tds_dash.sharing.links import link_state

FIELDS = ("account", "label", "state", "created_by", "created", "expires", "last_used")


def columns(language: str) -> list[dict]:
    return [{"field": f, "headerName": i18n.t(f"share.col.{f}", language), "flex": 1, "minWidth": 120}
            for f in FIELDS]


def rows(links: list[dict], now: datetime, zone: ZoneInfo, language: str) -> list[dict]:
    return [{"id": link["id"], "account": link["account_name"], "label": link["label"],
             "state": i18n.t(f"share.state.{link_state(link, now)}", language),
             "created_by": link["created_by_name"],
             "created": i18n.format_datetime(link["created_at"], zone, language),
             "expires": i18n.format_datetime(link["expires_at"], zone, language),
             "last_used": i18n.format_datetime(link["last_used_at"], zone, language)} for link in links]
