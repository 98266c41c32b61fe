"""The simulated fleet: accounts, gateways and meters with realistic profiles, and their messages."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import datetime, timezone

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)  # counters start from here, so any instant has a value
TWO_PI = 2 * math.pi


# device kind -> (code prefix, [(metric, role)]); role picks the profile below
DEVICE_KINDS = {
    "energy_meter": ("MED", [("energy_kwh", "energy_counter"), ("power_kw", "power_gauge")]),
    "water_meter": ("HID", [("water_m3", "water_counter")]),
    "temperature_sensor": ("TMP", [("temperature_c", "temperature_gauge")]),
}
KIND_CYCLE = ["energy_meter", "energy_meter", "water_meter", "energy_meter", "temperature_sensor"]


@dataclasses.dataclass(frozen=True)
class SimDevice:
    code: str
    kind: str
    scale: float  # average consumption per hour (kWh or m³), or the gauge's base level

    @property
    def metrics(self) -> list[tuple[str, str]]:
        return DEVICE_KINDS[self.kind][1]


@dataclasses.dataclass(frozen=True)
class SimGateway:
    account: str
    serial: str
    devices: tuple[SimDevice, ...]

    @property
    def topic(self) -> str:
        return f"tds/{self.account}/{self.serial}/telemetry"

    @property
    def status_topic(self) -> str:
        return f"tds/{self.account}/{self.serial}/status"


def _unit_noise(*parts: object) -> float:
    """Deterministic pseudo-random number in [0, 1) from the given parts."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def build_fleet(accounts: list[str], gateways_per_account: int, devices_per_gateway: int,
                serial_prefix: str = "GW") -> list[SimGateway]:
    """A deterministic fleet: the same arguments always give the same serials, codes and scales."""
    fleet = []
    for a_index, account in enumerate(accounts):
        for g_index in range(gateways_per_account):
            serial = f"{serial_prefix}-{a_index + 1:02d}{g_index + 1:02d}"
            devices = []
            for d_index in range(devices_per_gateway):
                kind = KIND_CYCLE[d_index % len(KIND_CYCLE)]
                prefix = DEVICE_KINDS[kind][0]
                scale = {"energy_meter": 5 + 40 * _unit_noise(serial, d_index),
                         "water_meter": 0.05 + 0.4 * _unit_noise(serial, d_index),
                         "temperature_sensor": 20 + 6 * _unit_noise(serial, d_index)}[kind]
                devices.append(SimDevice(f"{prefix}-{d_index + 1:03d}", kind, round(scale, 3)))
            fleet.append(SimGateway(account, serial, tuple(devices)))
    return fleet


def _shape_integral(hours: float) -> float:
    """Integral of the consumption shape 1 + .5 sin(day) + .25 sin(week) + .15 sin(year), from EPOCH.

    Peaks at 15:00 UTC-3, on mid-week days and in the southern summer; always positive, so counters only rise.
    """
    def cycle(period: float, amplitude: float, phase: float) -> float:
        w = TWO_PI / period
        return -amplitude / w * (math.cos(w * (hours - phase)) - math.cos(w * -phase))
    return hours + cycle(24, 0.5, 12) + cycle(168, 0.25, 60) + cycle(8766, 0.15, -2000)


def _shape(hours: float) -> float:
    return (1 + 0.5 * math.sin(TWO_PI * (hours - 12) / 24) + 0.25 * math.sin(TWO_PI * (hours - 60) / 168)
            + 0.15 * math.sin(TWO_PI * (hours + 2000) / 8766))


def reading_value(device: SimDevice, role: str, at: datetime, gateway: str) -> float:
    """The value a device reports at an instant: counters are exact integrals, gauges add noise."""
    hours = (at - EPOCH).total_seconds() / 3600
    if role in {"energy_counter", "water_counter"}:
        base = 1000 * _unit_noise(gateway, device.code, "base")
        return round(base + device.scale * _shape_integral(hours), 3)
    noise = _unit_noise(gateway, device.code, role, int(hours * 3600)) - 0.5
    if role == "power_gauge":
        return round(device.scale * _shape(hours) * (1 + 0.1 * noise), 3)
    return round(device.scale + 3 * math.sin(TWO_PI * (hours - 12) / 24) + 0.4 * noise, 2)


def values_over(device: SimDevice, role: str, gateway: str, instants: list[datetime]) -> list[float]:
    """reading_value at each instant, the same numbers, with a counter's per-device base hashed once
    instead of once per reading (the history writes a year of readings per key in one go)."""
    if role not in {"energy_counter", "water_counter"}:
        return [reading_value(device, role, at, gateway) for at in instants]
    base, scale = 1000 * _unit_noise(gateway, device.code, "base"), device.scale
    return [round(base + scale * _shape_integral((at - EPOCH).total_seconds() / 3600), 3) for at in instants]


def readings_at(gateway: SimGateway, at: datetime) -> list[dict]:
    return [{"device": device.code, "metric": metric, "value": reading_value(device, role, at, gateway.serial)}
            for device in gateway.devices for metric, role in device.metrics]


def build_payload(gateway: SimGateway, at: datetime, seq: int) -> bytes:
    """One message with every device's readings of one interval (the contract in docs/mqtt.md)."""
    body = {"v": 1, "ts": at.isoformat(timespec="milliseconds"), "seq": seq, "readings": readings_at(gateway, at)}
    return json.dumps(body, separators=(",", ":")).encode()
