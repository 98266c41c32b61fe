"""What amqtt 0.12 lacks for the embedded broker: a packet size limit and client ids bound to users.

amqtt has no size option (a 32 MB publish was read whole and delivered), so every TCP connection's reader
is wrapped: it follows the MQTT framing and, when a fixed header announces more than the limit, ends the
stream before the body is read, so nothing over the limit is ever buffered and the client is disconnected
(mosquitto's behaviour for MQTT 5 publishers over `message_size_limit`). Imported only by the embedded
broker's thread: amqtt is heavy and only the demo needs it.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter
from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

log = logging.getLogger(__name__)

# Room for the variable header (topic, packet id) on top of the payload limit.
HEADER_ALLOWANCE = 1024


class PacketSizeLimit(ReaderAdapter):
    """A reader that ends the stream at a packet whose remaining length exceeds `max_remaining`."""

    def __init__(self, inner: ReaderAdapter, max_remaining: int) -> None:
        self.inner, self.max_remaining = inner, max_remaining
        self.body_left = 0  # bytes of the current packet's body still to pass
        self.length: int | None = None  # the remaining length being decoded; None: at a packet start
        self.shift = 0
        self.refused = False

    async def read(self, n: int = -1) -> bytes:
        if self.refused:
            return b""
        data = await self.inner.read(n)
        self._follow(data)
        return data

    def feed_eof(self) -> None:
        self.inner.feed_eof()

    def _follow(self, data: bytes) -> None:
        """Advance the framing state over bytes just read (fixed header: type byte, then a varint)."""
        at = 0
        while at < len(data):
            if self.body_left:
                taken = min(self.body_left, len(data) - at)
                self.body_left -= taken
                at += taken
                continue
            byte = data[at]
            at += 1
            if self.length is None:
                self.length, self.shift = 0, 0
                continue
            self.length += (byte & 0x7F) << self.shift
            self.shift += 7
            if byte & 0x80:
                continue
            if self.length > self.max_remaining:
                log.warning("embedded broker: refused a %d-byte packet (limit %d): disconnecting",
                            self.length, self.max_remaining)
                self.refused = True
            self.body_left, self.length = self.length, None


class LimitedBroker(Broker):
    """amqtt's Broker whose TCP connections go through PacketSizeLimit."""

    def __init__(self, config: dict, message_size_limit: int, **kwargs) -> None:
        super().__init__(config, **kwargs)
        self.max_remaining = message_size_limit + HEADER_ALLOWANCE

    async def stream_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               listener_name: str) -> None:
        limited = PacketSizeLimit(StreamReaderAdapter(reader), self.max_remaining)
        await self.external_connected(limited, StreamWriterAdapter(writer), listener_name)


class ReservedClientIds(BaseAuthPlugin):
    """Client ids starting with a reserved prefix only for their user: nobody else takes the ingest's session."""

    @dataclass
    class Config:
        reserved: dict[str, str] = field(default_factory=dict)  # client-id prefix -> the only username allowed

    async def authenticate(self, *, session: Session) -> bool | None:
        for prefix, username in self.config.reserved.items():
            if (session.client_id or "").startswith(prefix) and session.username != username:
                log.warning("embedded broker: user %r may not use client id %r", session.username, session.client_id)
                return False
        return None  # no opinion: the password check decides
