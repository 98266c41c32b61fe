"""Sign-in attempts: locked, counted and recorded before the password is checked (tds_dash.auth.throttle)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclasses.dataclass(frozen=True)
class AttemptHistory:
    """Failures (pending checks count as failures) and when the latest of each kind ended."""

    now: datetime
    pair_failures: int  # this username from this address, since its last success there
    pair_last: datetime | None
    user_failures: int  # this username from every address, recent
    user_last: datetime | None
    address_failures: int  # every username from this address, recent
    address_last: datetime | None
    known_address: bool  # this username signed in from this address recently


def lock_attempts(conn: Connection, username: str, address: str) -> None:
    """Serialise attempts for one username, then one address, until the transaction ends.

    Always in this order, so two transactions can never wait on each other in a cycle.
    """
    for key in (f"login-user:{username}", f"login-address:{address}"):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


_HISTORY = sa.text("""
WITH attempts AS (
    SELECT username = :u AS same_user, address = :a AS same_address, success, at,
           -- a check still running counts as a failure ending now; one left by a crash stops counting after a minute
           coalesce(finished_at, least(clock_timestamp(), at + interval '1 minute')) AS ended
    FROM login_attempts
    WHERE verified AND at >= clock_timestamp() - :pair_window AND (username = :u OR address = :a)
), pair AS (
    SELECT * FROM attempts WHERE same_user AND same_address
      AND at > coalesce((SELECT max(at) FROM attempts WHERE same_user AND same_address AND success), '-infinity')
)
SELECT clock_timestamp() AS now,
       (SELECT count(*) FROM pair WHERE success IS NOT TRUE) AS pair_failures,
       (SELECT max(ended) FROM pair WHERE success IS NOT TRUE) AS pair_last,
       count(*) FILTER (WHERE same_user AND success IS NOT TRUE AND at >= clock_timestamp() - :recent_window) AS user_failures,
       max(ended) FILTER (WHERE same_user AND success IS NOT TRUE AND at >= clock_timestamp() - :recent_window) AS user_last,
       count(*) FILTER (WHERE same_address AND success IS NOT TRUE AND at >= clock_timestamp() - :recent_window) AS address_failures,
       max(ended) FILTER (WHERE same_address AND success IS NOT TRUE AND at >= clock_timestamp() - :recent_window) AS address_last,
       EXISTS (SELECT 1 FROM login_attempts WHERE username = :u AND address = :a AND success
               AND at >= clock_timestamp() - :known) AS known_address
FROM attempts
""")


def attempt_history(conn: Connection, username: str, address: str, pair_window: timedelta,
                    recent_window: timedelta, known_window: timedelta) -> AttemptHistory:
    row = conn.execute(_HISTORY, {"u": username, "a": address, "pair_window": pair_window,
                                  "recent_window": recent_window, "known": known_window}).one()
    return AttemptHistory(**row._asdict())


def insert_attempt(conn: Connection, username: str, address: str, verified: bool) -> int:
    """A pending attempt (verified: its password will be checked) or a refused one (success false at once)."""
    return conn.execute(sa.text(
        "INSERT INTO login_attempts (username, address, verified, success, finished_at)"
        " VALUES (:u, :a, :v, CASE WHEN :v THEN NULL ELSE false END, CASE WHEN :v THEN NULL ELSE now() END)"
        " RETURNING id"), {"u": username, "a": address, "v": verified}).scalar_one()


def finish_attempt(conn: Connection, attempt_id: int, success: bool) -> None:
    conn.execute(sa.text("UPDATE login_attempts SET success = :s, finished_at = clock_timestamp() WHERE id = :id"),
                 {"id": attempt_id, "s": success})


def prune_login_attempts(conn: Connection, older_than: timedelta) -> int:
    return conn.execute(sa.text("DELETE FROM login_attempts WHERE at < now() - :age"), {"age": older_than}).rowcount
