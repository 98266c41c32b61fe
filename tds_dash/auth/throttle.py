"""How many failed sign-ins are tolerated before the form asks the user to wait."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tds_dash.queries import users as user_queries

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20


def login_throttled(conn, username: str, address: str, now: datetime | None = None) -> int:
    """Minutes to wait when there were too many failures for this user or address, else 0."""
    now = now or datetime.now(timezone.utc)
    by_user, by_address = user_queries.recent_failures(conn, username, address, now - THROTTLE_WINDOW)
    if by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS:
        return int(THROTTLE_WINDOW.total_seconds() // 60)
    return 0
