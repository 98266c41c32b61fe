"""paho's client reading the broker's stream ahead, many packets per system call and per wake-up.

paho 2.2 reads each packet with three system calls (the command byte, the remaining length byte by byte,
then the body) and handles one packet per select() wake-up (its loop_read counts QoS 2 flows only). Each
of those calls releases the GIL, and with the writer thread running every release can hand the GIL over:
at one reading per message that was most of the network thread's ~80 µs of CPU per message
(bench/RESULTS.md). Reading 64 KiB at a time serves the small reads from memory, and going on while
bytes are already read keeps one wake-up for a run of packets.

The buffer is exposed to paho through `pending()`, the hook paho already uses for TLS sockets' decrypted
bytes (and its websocket wrapper): while bytes wait in the buffer, paho's loop does not block in select().
"""
from __future__ import annotations

import paho.mqtt.client as mqtt

from ingest import paho_properties

READ_AHEAD_BYTES = 65536
# Packets handled per wake-up while bytes are buffered, so that PUBACKs queued by the writer and
# keep-alive pings still get their turn in the same loop under a backlog.
PACKETS_PER_WAKE = 256


class ReadAheadSocket:
    """A connected socket (plain or TLS) whose recv() is served from a read-ahead buffer."""

    __slots__ = ("_sock", "_buffer", "_offset")

    def __init__(self, sock) -> None:
        self._sock = sock
        self._buffer = b""
        self._offset = 0

    def recv(self, size: int) -> bytes:
        buffer, start = self._buffer, self._offset
        if start >= len(buffer):
            # Raises as the socket does when nothing is there (BlockingIOError, ssl.SSLWantReadError),
            # and returns b"" on a closed connection: paho handles both unchanged.
            buffer = self._sock.recv(max(size, READ_AHEAD_BYTES))
            if not buffer:
                return buffer
            self._buffer, start = buffer, 0
        end = start + size
        self._offset = end
        return buffer[start:end]

    def buffered(self) -> int:
        """Bytes read from the socket that paho has not taken yet."""
        return max(0, len(self._buffer) - self._offset)

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return self.buffered() + inner

    def __getattr__(self, name: str):
        return getattr(self._sock, name)  # fileno, send, setblocking, close, getpeercert, …


class ReadAheadClient(mqtt.Client):
    """paho's Client with the broker's socket read ahead (ReadAheadSocket) and received packets' properties
    decoded with shared tables (ingest/paho_properties.py)."""

    def __init__(self, *args, **kwargs) -> None:
        paho_properties.install()
        super().__init__(*args, **kwargs)

    def _create_socket(self):
        return ReadAheadSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        sock = self._sock
        rc = super().loop_read(max_packets)
        for _ in range(PACKETS_PER_WAKE - 1):
            if rc != mqtt.MQTT_ERR_SUCCESS or self._sock is not sock or not isinstance(sock, ReadAheadSocket):
                break
            if not sock.buffered():
                break
            rc = super().loop_read(max_packets)
        return rc
