"""The ceiling: a bare paho subscriber that only parses (json.loads) each QoS 1 message, in its own process.

With --client-id it resumes that persistent session (a backlog queued for it by the broker: the drain
rate is the subscriber's own ceiling, no publisher competing for the CPU). Subscribes, prints "ready", counts messages until --count arrived (or --idle seconds pass without one), then
prints one JSON line: received, readings, seconds (first to last message). paho acknowledges automatically.
"""
from __future__ import annotations

import argparse
import json
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--protocol", choices=["5", "3.1.1"], default="5")
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--client-id", help="resume this persistent session (MQTT 5 only)")
    args = parser.parse_args()
    protocol = mqtt.MQTTv5 if args.protocol == "5" else mqtt.MQTTv311
    state = {"received": 0, "readings": 0, "first": None, "last": None}
    done, subscribed = threading.Event(), threading.Event()

    def on_message(_client, _userdata, msg) -> None:
        body = json.loads(msg.payload)
        now = time.monotonic()
        state["first"] = state["first"] or now
        state["last"] = now
        state["received"] += 1
        state["readings"] += len(body["readings"])
        if state["received"] >= args.count:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id or f"bench-ceiling-{time.time_ns()}",
                         protocol=protocol, clean_session=None if protocol == mqtt.MQTTv5 else not args.client_id)
    client.on_message = on_message  # before connect: a resumed session delivers at once
    client.on_subscribe = lambda *a: subscribed.set()
    if protocol == mqtt.MQTTv5 and args.client_id:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", args.port, keepalive=60, clean_start=False, properties=properties)
    else:
        client.connect("127.0.0.1", args.port, keepalive=60)
    client.subscribe("tds/+/+/telemetry", qos=1)
    client.loop_start()
    subscribed.wait(10)
    print("ready", flush=True)
    while not done.is_set():
        before = state["received"]
        if done.wait(args.idle) or state["received"] == before:
            break
    client.disconnect()
    client.loop_stop()
    seconds = (state["last"] or 0) - (state["first"] or 0)
    print(json.dumps({"received": state["received"], "readings": state["readings"], "seconds": round(seconds, 3)}),
          flush=True)


if __name__ == "__main__":
    main()
