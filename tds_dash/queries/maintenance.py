"""Housekeeping statements run by scheduler jobs."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_DELETE_REJECTED = sa.text("DELETE FROM rejected_messages WHERE received_at < now() - make_interval(days => :days)")


def delete_rejected_older_than(conn: Connection, days: int) -> int:
    return conn.execute(_DELETE_REJECTED, {"days": days}).rowcount


# Ids grow with arrival, so "the newest N" is "id >= the N-th largest id"; no row is touched when fewer exist.
_DELETE_REJECTED_BEYOND = sa.text(
    "DELETE FROM rejected_messages WHERE id < (SELECT id FROM rejected_messages ORDER BY id DESC"
    " OFFSET :keep - 1 LIMIT 1)"
)
_DELETE_INGEST_MINUTES = sa.text("DELETE FROM ingest_minutes WHERE minute < now() - make_interval(days => :days)")


def delete_rejected_beyond(conn: Connection, keep: int) -> int:
    """Keep only the newest `keep` rejected messages: a flood of bad traffic cannot fill the disk."""
    return conn.execute(_DELETE_REJECTED_BEYOND, {"keep": keep}).rowcount


def delete_ingest_minutes_older_than(conn: Connection, days: int) -> int:
    return conn.execute(_DELETE_INGEST_MINUTES, {"days": days}).rowcount
