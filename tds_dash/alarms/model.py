"""Typed rows of the alarms package: rules, observations of a condition, alarms."""
from __future__ import annotations

import dataclasses
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class Rule:
    id: int
    account_id: int | None
    kind: str
    name: str
    enabled: bool
    severity: str
    gateway_id: int | None
    device_id: int | None
    metric_id: int | None
    for_seconds: int
    clear_seconds: int
    params: dict
    builtin: bool
    version: int


@dataclasses.dataclass(frozen=True)
class Observation:
    """One subject of a rule at evaluation time.

    firing: the raise condition holds (since `since`); holding: the clear condition does not hold yet
    (hysteresis: a value between the clear and the raise threshold keeps an active alarm, raises none).
    """

    subject: str
    firing: bool
    since: datetime
    holding: bool = True
    gateway_id: int | None = None
    device_id: int | None = None
    metric_id: int | None = None
    value: float | None = None
    threshold: float | None = None
    detail: str = ""
    suppressed_by: int | None = None  # the offline gateway that holds this device condition back


@dataclasses.dataclass(frozen=True)
class Alarm:
    id: int
    rule_id: int
    account_id: int | None
    subject: str
    kind: str
    severity: str
    started_at: datetime
    raised_at: datetime
    episode_at: datetime
    last_at: datetime
    count: int
    suppressed: int
    value: float | None
    threshold: float | None
    detail: str
    clearing_since: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    ack_comment: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    clear_comment: str | None
    gateway_id: int | None = None
    device_id: int | None = None
    metric_id: int | None = None

    @property
    def state(self) -> str:
        """active_unack, active_ack, cleared_unack or cleared_ack."""
        return f"{'active' if self.cleared_at is None else 'cleared'}_{'ack' if self.acked_at else 'unack'}"


STATES = ("active_unack", "active_ack", "cleared_unack", "cleared_ack")
