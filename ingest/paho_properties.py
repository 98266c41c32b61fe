"""paho's MQTT 5 properties of received packets decoded without rebuilding paho's tables for each packet.

paho 2.2 decodes every PUBLISH into a new `Properties`, whose __init__ builds its three lookup tables (about
60 entries, `list.index` calls included) and whose unpack() first clears 28 names with a string replace and
a hasattr each: ~20 % of the network thread's CPU per one-reading message (py-spy, bench/RESULTS.md), for a
PUBLISH that usually has no properties at all. `SharedTablesProperties` is paho's class with those tables
built once (they are never modified: paho only reads them) and a clear() that looks at what the instance
holds. ReadAheadClient installs it where paho decodes packets (`paho.mqtt._packet`), so every received packet, ours
or another client's in the process, decodes exactly as before (tests/test_paho_properties.py compares them).
"""
from __future__ import annotations

from paho.mqtt import _packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_TABLES = Properties(PacketTypes.PUBLISH)
_COMPRESSED_NAMES = tuple(name.replace(" ", "") for name in _TABLES.names)


class SharedTablesProperties(Properties):
    types = _TABLES.types
    names = _TABLES.names
    properties = _TABLES.properties

    def __init__(self, packetType) -> None:  # noqa: N803 - paho's parameter name
        object.__setattr__(self, "packetType", packetType)

    def clear(self) -> None:
        held = self.__dict__
        for name in _COMPRESSED_NAMES:
            if name in held:
                delattr(self, name)


def install() -> None:
    """Decode received packets' properties with the shared tables (idempotent)."""
    _packet.Properties = SharedTablesProperties

