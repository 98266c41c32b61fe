"""MQTT transport: connect, subscribe, decode each message and hand it to the writer's queue."""
from __future__ import annotations

import dataclasses
import logging
import queue
import struct
import threading
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.inbox import Envelope
from ingest.payload import Rejection, parse_message
from ingest.presence.recorder import is_status_topic, signal_from_message
from ingest.read_ahead import ReadAheadClient
from ingest.statements import RejectedRow
from ingest.stats import IngestStats

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # the broker keeps our queue a week while we are down
# Unacknowledged messages the broker may send us. Mosquitto 2.0.11 honours it only for the first window
# (each PUBACK then releases a whole window: checked), so the bounded queue is what bounds memory.
RECEIVE_MAXIMUM = 20000
# While the writer's queue is full the paho thread waits in on_message and sends no PINGREQ; the broker
# drops us after 1.5 x keepalive. 60 s rides out a full queue for 90 s; after that we reconnect and the
# broker redelivers what was not acknowledged (stored once: idempotent readings).
KEEPALIVE_SECONDS = 60
PUT_WAIT_SECONDS = 0.2  # how often a waiting on_message checks whether the ingest is stopping
_PUBACK = struct.Struct("!BBH")  # fixed header (PUBACK, remaining length 2) + packet id: MQTT 3.1.1 and 5 alike


def queue_pubacks(client: mqtt.Client, mids: list[int]) -> None:
    """Queue the PUBACKs of a committed batch as one write with one wake-up of paho's network thread.

    paho's ack() queues one packet per message, and each writes a wake-up byte to the network thread's
    socket pair (a system call from the writer thread, a GIL hand-over, then one send() per 4-byte PUBACK in
    the network thread). The PUBACKs of a batch are back to back on the wire anyway: one packet holding all
    of them is one send() and one TCP segment (bench/RESULTS.md). This is paho 2.2's own _packet_queue (the
    function ack() ends in) given the concatenated bytes; paho is pinned, and tests/test_ingest_integration.py
    and tests/test_delivery.py check every message is acknowledged exactly after its commit."""
    if not mids:
        return
    pack = _PUBACK.pack
    packet = b"".join([pack(0x40, 2, mid) for mid in mids])
    client._packet_queue(mqtt.PUBACK, packet, mids[-1], 1)


class PendingAck:
    """The PUBACK owed for one message: sent after its commit (alone, or with its batch: Subscriber.ack_many)."""

    __slots__ = ("owner", "mid", "qos", "generation")

    def __init__(self, owner: "Subscriber", mid: int, qos: int, generation: int) -> None:
        self.owner, self.mid, self.qos, self.generation = owner, mid, qos, generation

    def __call__(self) -> bool:
        """Send the PUBACK if the message came on the current connection; True if sent."""
        return self.owner.ack_many([self]) == 1


@dataclasses.dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> "BrokerAddress":
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


def _topic_text(msg: mqtt.MQTTMessage) -> str:
    # msg.topic raises on invalid UTF-8; a bad topic must become a rejection, not a dead thread.
    return msg._topic.decode("utf-8", errors="replace").replace("\x00", "")


class Subscriber:
    """paho client in its own network thread; on_message never touches the database."""

    def __init__(self, address: BrokerAddress, topic: str, client_id: str, protocol: int,
                 inbox: "queue.Queue", tls_files: dict | None = None, status_topic: str | None = None,
                 status_inbox: "queue.Queue | None" = None, stats: IngestStats | None = None,
                 unsubscribe: tuple[str, ...] = ()) -> None:
        self.address = address
        self.stats = stats
        self.unsubscribe = unsubscribe  # filters an earlier configuration may have left in the persistent session
        self.topic = topic
        self.status_topic = status_topic if status_inbox is not None else None
        self.status_inbox = status_inbox  # births and wills go to the StatusRecorder thread, not the writer
        self.protocol = protocol
        self.inbox = inbox
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # a SUBACK granted on the current connection
        self.accepting = True
        self.generation = 0  # PUBACK ids are per connection: never ack a message from an earlier one
        self.generation_lock = threading.Lock()
        self.connects = 0
        self.client = ReadAheadClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  manual_ack=True, clean_session=False if protocol != mqtt.MQTTv5 else None)
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            files = tls_files or {}
            self.client.tls_set(ca_certs=files.get("ca"), certfile=files.get("cert"), keyfile=files.get("key"))
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_message = self._on_message  # before connect: a persistent session may deliver at once
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        properties = None
        if self.protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
            properties.ReceiveMaximum = max(1, min(RECEIVE_MAXIMUM, self.inbox.maxsize or RECEIVE_MAXIMUM))
            self.client.connect_async(self.address.host, self.address.port, keepalive=KEEPALIVE_SECONDS,
                                      clean_start=False, properties=properties)
        else:
            self.client.connect_async(self.address.host, self.address.port, keepalive=KEEPALIVE_SECONDS)
        self.client.loop_start()

    def stop_accepting(self) -> None:
        self.accepting = False

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        with self.generation_lock:
            self.generation += 1
        self.connects += 1
        if self.connects > 1 and not getattr(flags, "session_present", True):
            log.warning("the broker lost our session (restarted without persistence?): messages published while"
                        " we were not subscribed are gone; gateways' sequence gaps will count them")
        if self.unsubscribe and self.protocol == mqtt.MQTTv5:  # amqtt (3.1.1) is never run shared
            client.unsubscribe(list(self.unsubscribe))
        if self.status_topic:
            client.subscribe([(self.topic, 1), (self.status_topic, 1)])
        else:
            client.subscribe(self.topic, qos=1)
        self.connected.set()
        log.info("connected to mqtt broker %s:%s, subscribed to %s", self.address.host, self.address.port, self.topic)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # Set on every granted SUBACK: a message published after it cannot miss the subscription.
        if not any(code.is_failure for code in reason_codes):
            self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self.generation_lock:
            self.generation += 1  # an ack queued from now on would reach the next connection: drop it
        self.connected.clear()
        self.subscribed.clear()
        if reason_code.is_failure:
            log.warning("mqtt connection lost (%s); paho reconnects with backoff", reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        if not self.accepting:
            return  # not acked: the broker redelivers it to whoever subscribes next
        received_at = datetime.now(timezone.utc)
        topic = _topic_text(msg)
        if self.status_inbox is not None and is_status_topic(topic):
            signal = signal_from_message(topic, bytes(msg.payload), received_at, bool(msg.retain),
                                         self._acker(msg.mid, msg.qos))
            self._put_waiting(self.status_inbox, signal)
            return
        envelope = Envelope(topic=topic, payload=bytes(msg.payload), received_at=received_at,
                            ack=self._acker(msg.mid, msg.qos))
        try:
            envelope.message = parse_message(topic, envelope.payload, now=received_at)
        except Rejection as rejection:
            envelope.rejection = rejection
        except Exception as error:  # a parser bug must cost one message, never the network thread
            log.exception("unexpected error parsing a message on %s", topic)
            envelope.rejection = Rejection("parse_error", f"{type(error).__name__}: {error}"[:300])
        # Only an excerpt is ever stored (rejections): a 10 MB payload must not wait in the queue whole.
        envelope.payload_size = len(envelope.payload)
        envelope.payload = envelope.payload[:RejectedRow.EXCERPT_BYTES]
        self._hand_over(envelope, received_at)

    def _put_waiting(self, target, item) -> bool:
        """Wait while a queue is full (backpressure: the broker holds the backlog), unless stopping."""
        while True:
            try:
                target.put(item, timeout=PUT_WAIT_SECONDS)
                return True
            except queue.Full:
                if not self.accepting:
                    return False  # not acked: redelivered by the broker to the next session

    def _hand_over(self, envelope: Envelope, received_at: datetime) -> None:
        if not self._put_waiting(self.inbox, envelope):
            return
        if self.stats is not None:
            self.stats.note_received(*self.inbox.depths(), received_at)

    def _acker(self, mid: int, qos: int) -> PendingAck:
        return PendingAck(self, mid, qos, self.generation)

    def ack_many(self, acks: list[PendingAck]) -> int:
        """PUBACK the messages that came on the current connection, in one write; returns how many.

        PUBACK ids are per connection: an ack from an earlier one is dropped (its message is redelivered)."""
        with self.generation_lock:
            current = self.generation
            mids = [ack.mid for ack in acks if ack.qos and ack.generation == current]
            queue_pubacks(self.client, mids)
        return len(mids)
