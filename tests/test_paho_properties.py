"""ingest/paho_properties.py decodes MQTT 5 properties exactly as paho's own class does."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from ingest.paho_properties import SharedTablesProperties, install

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
publish_properties = st.fixed_dictionaries({}, optional={
    "PayloadFormatIndicator": st.integers(0, 1),
    "MessageExpiryInterval": st.integers(0, 2**32 - 1),
    "ContentType": texts,
    "ResponseTopic": texts.filter(bool),
    "CorrelationData": st.binary(max_size=20),
    "TopicAlias": st.integers(1, 65535),
    "UserProperty": st.lists(st.tuples(texts, texts), min_size=1, max_size=4),
})


def _packed(values: dict) -> bytes:
    source = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(source, name, value)
    return source.pack()


@settings(max_examples=300, deadline=None)
@given(publish_properties)
def test_ppr001_same_properties_as_paho_for_any_publish(values):
    packed = _packed(values)
    stock, _ = Properties(PacketTypes.PUBLISH).unpack(packed)
    ours, length = SharedTablesProperties(PacketTypes.PUBLISH).unpack(packed)
    assert length == len(packed)
    assert ours.json() == stock.json()
    assert ours.pack() == stock.pack()
    assert str(ours) == str(stock)


def test_ppr002_an_instance_reused_forgets_what_it_held():
    properties = SharedTablesProperties(PacketTypes.PUBLISH)
    properties.unpack(_packed({"ContentType": "a", "UserProperty": [("k", "v")]}))
    properties.unpack(_packed({"MessageExpiryInterval": 5}))
    assert properties.json() == {"MessageExpiryInterval": 5}


def test_ppr003_paho_rules_still_apply():
    """Validation is paho's: a property of another packet type or a duplicate is refused as before."""
    properties = SharedTablesProperties(PacketTypes.PUBLISH)
    with pytest.raises(MQTTException):
        properties.SessionExpiryInterval = 10  # a CONNECT property
    duplicate = _packed({"ContentType": "a"})[1:] * 2
    packed = bytes([len(duplicate)]) + duplicate
    with pytest.raises(MQTTException):
        SharedTablesProperties(PacketTypes.PUBLISH).unpack(packed)


def test_ppr004_installed_where_paho_decodes_publish():
    install()
    body = b"\x00\x03a/b" + b"\x00\x07" + _packed({"ContentType": "json"}) + b"payload"
    packet = _packet.decode_publish(0x32, body, 5)
    assert isinstance(packet.properties, SharedTablesProperties)
    assert packet.properties.ContentType == "json"
    assert (packet.topic, packet.mid, packet.payload) == (b"a/b", 7, b"payload")
