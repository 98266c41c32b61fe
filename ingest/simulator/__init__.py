"""Gateway simulator: a fleet with realistic meter profiles, publishing over MQTT or backfilling history.

Run `python -m ingest.simulator --help`. The app imports it only to run the demo fleet; the names
below are its public face, used by the demo, the benchmarks and the tests.
"""
from ingest.simulator.fleet import (
                                    DEVICE_KINDS,
                                    EPOCH,
                                    SimDevice,
                                    SimGateway,
                                    build_fleet,
                                    build_payload,
                                    reading_value,
                                    readings_at,
)
from ingest.simulator.history import backfill, backfill_instants
from ingest.simulator.provision import latest_reading_time, provision_fleet
from ingest.simulator.publisher import LivePublisher, TlsFiles

__all__ = ["DEVICE_KINDS", "EPOCH", "LivePublisher", "SimDevice", "SimGateway", "backfill", "backfill_instants",
           "build_fleet", "build_payload", "latest_reading_time", "provision_fleet", "reading_value", "readings_at",
           "TlsFiles"]
