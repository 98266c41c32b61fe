"""Presence: when a gateway is online or offline and why, when a meter is silent; pure rules plus the
jobs that apply them (each job takes its own transaction and an injectable `now`).

Rules (README "Presence"):
- A gateway is online while messages arrive: its newest evidence is the last telemetry message
  (gateways.last_seen_at, written once per ingest batch) or a live birth on its status topic.
- It is offline when its Last Will arrived after that evidence (reason 'will', at the will), or when
  nothing arrived for its inactivity timeout (reason 'silent', at last evidence + timeout).
- A device is silent when its newest reading is older than 3x its usual interval while its gateway is
  online; the interval is set per metric on the device or learned (median gap of its recent readings).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

SILENCE_FACTOR = 3  # a meter is silent after this many usual intervals without a reading
MIN_LEARNING_GAPS = 3  # gaps needed before an interval is learned from readings


@dataclasses.dataclass(frozen=True)
class GatewayState:
    id: int
    account_id: int
    serial: str
    timeout_s: int
    last_seen_at: datetime | None
    will_at: datetime | None
    birth_at: datetime | None
    status: str | None
    status_since: datetime | None


@dataclasses.dataclass(frozen=True)
class Transition:
    """A gateway changing state; applied only if the gateway still has previous_status/previous_since."""

    gateway_id: int
    account_id: int
    serial: str
    status: str
    reason: str
    at: datetime
    evidence_at: datetime | None
    previous_status: str | None
    previous_since: datetime | None
    detail: str


def evaluate_gateway(state: GatewayState, now: datetime) -> Transition | None:
    """The transition the rules call for at `now`, or None when the stored state is right."""
    alive_at = max((t for t in (state.last_seen_at, state.birth_at) if t is not None), default=None)
    if state.will_at is not None and (alive_at is None or state.will_at >= alive_at):
        status, reason, at = "offline", "will", state.will_at
        detail = f"last will received at {state.will_at.isoformat()}"
    elif alive_at is None:
        return None  # never seen: no state to leave
    elif now >= alive_at + timedelta(seconds=state.timeout_s):
        status, reason, at = "offline", "silent", alive_at + timedelta(seconds=state.timeout_s)
        detail = f"no message since {alive_at.isoformat()} (timeout {state.timeout_s} s)"
    else:
        birth = state.birth_at is not None and state.birth_at == alive_at
        status, reason, at = "online", "birth" if birth else "message", alive_at
        detail = "birth message" if birth else "messages arriving"
    if status == state.status:
        return None
    if state.status_since is not None:
        at = max(at, state.status_since)  # intervals never run backwards
    return Transition(state.id, state.account_id, state.serial, status, reason, min(at, now), alive_at,
                      state.status, state.status_since, detail)


def learned_interval(gaps_s: list[float]) -> float | None:
    """A device's usual interval from gaps between its recent readings: the median, robust to outages."""
    positive = sorted(g for g in gaps_s if g and g > 0)
    if len(positive) < MIN_LEARNING_GAPS:
        return None
    middle = len(positive) // 2
    return positive[middle] if len(positive) % 2 else (positive[middle - 1] + positive[middle]) / 2


def device_interval(gaps_per_metric: list[list[float]]) -> float | None:
    """The shortest learned interval over a device's metrics: the one it is most often heard on."""
    learned = [value for value in map(learned_interval, gaps_per_metric) if value is not None]
    return min(learned, default=None)


def silence_deadline(last_reading_at: datetime, interval_s: float) -> datetime:
    return last_reading_at + timedelta(seconds=SILENCE_FACTOR * interval_s)


def device_change(silent_since: datetime | None, last_reading_at: datetime | None, interval_s: float | None,
                  now: datetime) -> tuple[str, datetime] | None:
    """('silent', since) when a meter just fell silent, ('back', at) when it reports again, else None."""
    if last_reading_at is None or interval_s is None:
        return None
    deadline = silence_deadline(last_reading_at, interval_s)
    if silent_since is None and now >= deadline:
        return "silent", deadline
    if silent_since is not None and now < deadline:  # a new reading, or a longer interval set on the device
        return "back", max(last_reading_at, silent_since)
    return None
