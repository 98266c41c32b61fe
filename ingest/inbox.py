"""The bounded queue between the paho thread and the writer (bounded by weight), and what travels in it."""
from __future__ import annotations

import dataclasses
import queue
from collections.abc import Callable
from datetime import datetime

from ingest.payload import Rejection, TelemetryMessage

STOP = object()  # sentinel: flush what is queued, then end the thread


@dataclasses.dataclass
class Envelope:
    """One received MQTT message on its way to the database."""

    topic: str
    payload: bytes
    received_at: datetime
    message: TelemetryMessage | None = None
    rejection: Rejection | None = None
    ack: Callable[[], bool] | None = None  # sends the PUBACK; called only after commit
    payload_size: int | None = None  # size received, when `payload` was cut to the excerpt kept for rejections

    @property
    def size(self) -> int:
        return len(self.message.readings) if self.message else 1




def weight(item) -> int:
    """Readings + 1: one 5000-reading message costs what 2500 one-reading messages cost (memory follows readings)."""
    return getattr(item, "size", 0) + 1


class Inbox(queue.Queue):
    """queue.Queue whose size is the total weight of its items: put() waits while it is at capacity.

    An item heavier than the capacity still enters an empty queue, so nothing can wait forever.
    qsize() is the weight; messages() the number of items.
    """

    def _init(self, maxsize: int) -> None:
        super()._init(maxsize)
        self.weight = 0

    def _qsize(self) -> int:
        return self.weight

    def _put(self, item) -> None:
        self.queue.append(item)
        self.weight += weight(item)

    def _get(self):
        item = self.queue.popleft()
        self.weight -= weight(item)
        return item

    def messages(self) -> int:
        with self.mutex:
            return len(self.queue)

    def depths(self) -> tuple[int, int]:
        """(messages, weight) read under one lock: the paho thread asks after every message."""
        with self.mutex:
            return len(self.queue), self.weight
