"""A benchmark publisher, run as its own process so it never shares a GIL with what it measures.

Publishes `--count` QoS 1 messages round-robin over `--gateways` gateways (serials <prefix>-0001...), each with
`--readings` readings (energy counters and power gauges of devices MED-001..), at `--rate` messages/s (0: as fast
as the broker acknowledges). It drives paho's loop itself and keeps at most 200 messages unacknowledged (an
unbounded in-flight list makes paho crawl). Each message's ts is its send time (ms, strictly increasing per
gateway), so `commit time - ts` is the publish->commit latency. Prints one JSON line: sent, acked, seconds.
Bounded: gives up after --deadline seconds.
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt

MAX_UNACKED = 200
METRICS = ("energy_kwh", "power_kw")  # a counter and a gauge, as real meters send


def device_code(index: int) -> str:
    return f"MED-{index + 1:03d}"


def payload(at: datetime, seq: int, readings: int) -> bytes:
    """Like a meter gateway: reading i is device i//2's energy counter (rising) or its power gauge."""
    items = ",".join(f'{{"device":"{device_code(i // 2)}","metric":"{METRICS[i % 2]}",'
                     f'"value":{seq * 0.25 + i if i % 2 == 0 else (seq % 50) / 10 + i}}}' for i in range(readings))
    return f'{{"v":1,"ts":"{at.isoformat(timespec="milliseconds")}","seq":{seq},"readings":[{items}]}}'.encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", default="bench")
    parser.add_argument("--prefix", default="B")
    parser.add_argument("--gateways", type=int, default=100)
    parser.add_argument("--readings", type=int, default=1)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--deadline", type=float, default=300.0)
    args = parser.parse_args()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time_ns()}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(MAX_UNACKED)
    unacked: set[int] = set()
    acked = [0]

    def on_publish(_client, _userdata, mid, _reason, _properties) -> None:
        if mid in unacked:
            unacked.discard(mid)
            acked[0] += 1

    client.on_publish = on_publish
    client.connect(args.host, args.port, keepalive=60)
    topics = [f"tds/{args.account}/{args.prefix}-{g + 1:04d}/telemetry" for g in range(args.gateways)]
    last_ts = [datetime.min.replace(tzinfo=timezone.utc)] * args.gateways
    seqs = [0] * args.gateways
    started = time.monotonic()
    until = started + args.deadline
    for sent in range(args.count):
        due = started + sent / args.rate if args.rate else 0.0
        while (len(unacked) >= MAX_UNACKED or time.monotonic() < due) and time.monotonic() < until:
            client.loop(timeout=0.001)
        gateway = sent % args.gateways
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        at = max(now, last_ts[gateway] + timedelta(milliseconds=1))  # keys stay unique per gateway
        last_ts[gateway] = at
        info = client.publish(topics[gateway], payload(at, seqs[gateway], args.readings), qos=1)
        seqs[gateway] += 1
        unacked.add(info.mid)
    while unacked and time.monotonic() < until:
        client.loop(timeout=0.01)
    seconds = time.monotonic() - started
    client.disconnect()
    print(json.dumps({"sent": args.count, "acked": acked[0], "seconds": round(seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
