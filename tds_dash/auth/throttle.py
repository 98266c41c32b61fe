"""Growing delays between failed sign-ins, counted atomically before any password is checked.

Policy (README "Security"): after 5 failures of one username from one address (since its last success
there, within 24 h), each further attempt waits 2^(n-5) s after the previous failure, at most 15 min.
Failures of one username from every address add a smaller delay once there are 10 within 15 min
(2^(m-10) s, at most 30 s), and failures from one address for every username once there are 20 within
15 min (2^(k-20) s, at most 60 s); neither applies from an address where that username signed in
within 30 days, so nobody can lock a user or a whole proxy out. A check still running counts as a
failure, so parallel guesses see each other.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

from tds_dash.queries import login_attempts as attempts
from tds_dash.queries.login_attempts import AttemptHistory

PAIR_WINDOW = timedelta(hours=24)
RECENT_WINDOW = timedelta(minutes=15)
KNOWN_ADDRESS_WINDOW = timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Failures tolerated, then 2^(failures - free) seconds, capped."""

    free: int
    cap_seconds: int

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(2 ** min(failures - self.free, 32), self.cap_seconds))


PAIR = Backoff(free=5, cap_seconds=15 * 60)
USER = Backoff(free=10, cap_seconds=30)
ADDRESS = Backoff(free=20, cap_seconds=60)


def _remaining(backoff: Backoff, failures: int, last: datetime | None, now: datetime) -> float:
    if last is None:
        return 0.0
    return max(0.0, backoff.delay(failures) - (now - last).total_seconds())


def wait_seconds(history: AttemptHistory) -> int:
    """Whole seconds this attempt must still wait (0: check the password now)."""
    waits = [_remaining(PAIR, history.pair_failures, history.pair_last, history.now)]
    if not history.known_address:
        waits.append(_remaining(USER, history.user_failures, history.user_last, history.now))
        waits.append(_remaining(ADDRESS, history.address_failures, history.address_last, history.now))
    return math.ceil(max(waits))


def begin_attempt(conn, username: str, address: str) -> tuple[int, int]:
    """(attempt id, seconds to wait): the attempt is recorded, pending when 0, refused otherwise.

    Commit the transaction before checking the password: the lock is held only while counting.
    """
    username, address = username[:64], address[:64]
    attempts.lock_attempts(conn, username, address)
    history = attempts.attempt_history(conn, username, address, PAIR_WINDOW, RECENT_WINDOW, KNOWN_ADDRESS_WINDOW)
    wait = wait_seconds(history)
    return attempts.insert_attempt(conn, username, address, verified=wait == 0), wait


def finish_attempt(conn, attempt_id: int, success: bool) -> None:
    attempts.finish_attempt(conn, attempt_id, success)
