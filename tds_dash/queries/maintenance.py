"""Housekeeping statements run by scheduler jobs."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_DELETE_REJECTED = sa.text("DELETE FROM rejected_messages WHERE received_at < now() - make_interval(days => :days)")


def delete_rejected_older_than(conn: Connection, days: int) -> int:
    return conn.execute(_DELETE_REJECTED, {"days": days}).rowcount
