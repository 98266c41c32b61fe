"""The /api/v1 resources beside the consumption/readings routes of tds_dash.api.v1 (docs/api.md).

Importing the route modules registers their routes on one blueprint; the app factory registers it.
"""
from __future__ import annotations

from tds_dash.api import (  # noqa: F401  routes
    accounts,
    admin,
    devices,
    docs,
    gateways,
    imports,
    monitoring,
    share_links,
)
from tds_dash.api.common import blueprint

__all__ = ["blueprint"]
