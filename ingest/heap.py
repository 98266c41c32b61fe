"""The garbage collector of an ingesting process: thresholds for a stream of short-lived objects.

Every message allocates a few dozen objects (envelope, readings, datetimes) that live until their batch is
committed, so thousands are in flight at once. With CPython's default thresholds (700, 10, 10) the
collector ran every ~10 messages and its older generations rescanned everything in flight, and the
whole web app's heap (Dash, Plotly, pandas: about a million objects) at each full collection: 19 of the
paho thread's 54 µs per 10-reading message (bench/RESULTS.md, "Ingest at the machine's limit").
Readings hold no reference cycles: reference counting frees them; the collector only needs to run now
and then for the rest.
"""
from __future__ import annotations

import gc

# gen0 every 50,000 net allocations (about 1,500 messages at 10 readings), the older ones as usual.
THRESHOLDS = (50_000, 20, 10)


def tune_garbage_collector() -> None:
    """Call once at start-up, before the ingest starts."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_heap() -> None:
    """Call once start-up is done (modules imported, app built): what exists now lives as long as the
    process, so full collections stop rescanning it (gc.freeze)."""
    gc.collect()
    gc.freeze()
