"""The /api/v1 resources beside the consumption/readings routes of tds_dash.api.v1 (docs/api.md).

Importing the route modules registers their routes on one blueprint; the app factory registers it.
"""
from __future__ import annotations

from tds_dash.api import accounts, admin, devices, docs, gateways, imports, monitoring  # noqa: F401  routes
from tds_dash.api.common import blueprint

__all__ = ["blueprint"]
