"""The read-ahead paho client (ingest/read_ahead.py) against the real Mosquitto: every packet whole and in order,
whether many arrive in one read, one spans many reads, or the stream pauses mid-buffer."""
from __future__ import annotations

import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.read_ahead import READ_AHEAD_BYTES, ReadAheadClient, ReadAheadSocket
from tests.helpers import wait_until


def _subscriber(broker, topic: str, received: list, subscribed: threading.Event) -> ReadAheadClient:
    client = ReadAheadClient(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ra-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: received.append(bytes(msg.payload))
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert subscribed.wait(10), "no SUBACK"
    return client


def _publisher(broker) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"rp-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


@pytest.fixture
def pair(mosquitto):
    topic = f"ra/{uuid.uuid4().hex[:8]}"
    received: list[bytes] = []
    subscriber = _subscriber(mosquitto, topic, received, threading.Event())
    publisher = _publisher(mosquitto)
    try:
        yield topic, received, subscriber, publisher
    finally:
        for client in (publisher, subscriber):
            client.disconnect()
            client.loop_stop()


def test_rah001_burst_of_small_packets_all_whole_and_in_order(pair):
    """Thousands of small packets arrive many per 64 KiB read: each handed over once, whole, in order."""
    topic, received, subscriber, publisher = pair
    payloads = [f"{n:05d}".encode() * (1 + n % 7) for n in range(3000)]
    infos = [publisher.publish(topic, body, qos=1) for body in payloads]
    for info in infos:
        info.wait_for_publish(10)
    wait_until(lambda: len(received) >= len(payloads), timeout=30)
    time.sleep(0.2)  # nothing more may come (no duplicates)
    assert received == payloads
    assert isinstance(subscriber._sock, ReadAheadSocket)


def test_rah002_packet_larger_than_the_read_ahead_between_small_ones(pair):
    """A packet of several read-ahead buffers is reassembled; the small ones around it stay intact."""
    topic, received, _subscriber_client, publisher = pair
    big = bytes(range(256)) * ((3 * READ_AHEAD_BYTES) // 256 + 17)
    payloads = [b"before", big, b"after", b"x" * (READ_AHEAD_BYTES - 3), b"end"]
    for body in payloads:
        publisher.publish(topic, body, qos=1).wait_for_publish(10)
    wait_until(lambda: len(received) >= len(payloads), timeout=30)
    assert received == payloads


def test_rah003_a_backlog_flushed_at_reconnect_ends_with_nothing_stranded(mosquitto):
    """A persistent session's backlog arrives at reconnect in big reads, many more packets per read than
    one wake-up handles (PACKETS_PER_WAKE): the last ones must arrive with no further traffic to wake the
    loop (paho must not block in select() while bytes wait in the buffer: pending())."""
    topic, client_id = f"ra/{uuid.uuid4().hex[:8]}", f"ra-{uuid.uuid4().hex[:8]}"
    received: list[bytes] = []
    subscribed = threading.Event()

    def session() -> ReadAheadClient:
        client = ReadAheadClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.on_message = lambda _c, _u, msg: received.append(bytes(msg.payload))
        client.on_subscribe = lambda *_a: subscribed.set()
        client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 300
        client.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=properties)
        client.loop_start()
        return client

    first = session()
    assert subscribed.wait(10)
    first.disconnect()
    first.loop_stop()
    publisher = _publisher(mosquitto)
    payloads = [f"backlog-{n:05d}".encode() for n in range(2000)]
    try:
        for info in [publisher.publish(topic, body, qos=1) for body in payloads]:
            info.wait_for_publish(10)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    second = session()
    try:
        wait_until(lambda: len(received) >= len(payloads), timeout=30, message="the whole backlog arrives")
        assert received == payloads
    finally:
        second.disconnect()
        second.loop_stop()


def test_rah004_publish_properties_arrive_through_the_broker(mosquitto):
    """MQTT 5 properties of a received PUBLISH decode as paho's (ingest/paho_properties.py), end to end."""
    topic = f"ra/{uuid.uuid4().hex[:8]}"
    seen: list = []
    subscribed = threading.Event()
    client = ReadAheadClient(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ra-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: seen.append((bytes(msg.payload), msg.properties.json()))
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    publisher = _publisher(mosquitto)
    try:
        assert subscribed.wait(10)
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = "application/json"
        properties.UserProperty = [("gateway", "GW-1"), ("fw", "2.1")]
        publisher.publish(topic, b"{}", qos=1, properties=properties).wait_for_publish(10)
        publisher.publish(topic, b"plain", qos=1).wait_for_publish(10)
        wait_until(lambda: len(seen) >= 2, timeout=10)
        assert seen[0] == (b"{}", {"ContentType": "application/json",
                                   "UserProperty": [("gateway", "GW-1"), ("fw", "2.1")]})
        assert seen[1] == (b"plain", {})
    finally:
        for c in (publisher, client):
            c.disconnect()
            c.loop_stop()
