"""The demo's history, loaded in the background: the app answers and shows the live fleet at once.

Progress is kept on the object (the demo runs in one process) and a marker file under the data
directory says whether the last load finished: an interrupted load is redone from the start on the
next start (readings are idempotent), a finished one is only topped up with the gap since.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest import simulator
from tds_dash.db import create_db_engine, raw_dsn, session_scope
from tds_dash.queries import overview as overview_queries
from tds_dash.settings import Settings

log = logging.getLogger(__name__)
MARKER_NAME = "demo-history.json"
LIVE_FIRST_WAIT_SECONDS = 10.0  # at most, before the load starts: the live fleet's first readings go first


class HistoryLoad(threading.Thread):
    """Backfills [start, end) for the fleet; `fraction` goes 0 → 1, `done` is set at the end (or on error)."""

    def __init__(self, settings: Settings, fleet: list, start: datetime, end: datetime,
                 live_first_wait: float = LIVE_FIRST_WAIT_SECONDS) -> None:
        super().__init__(name="tds-demo-history", daemon=True)
        self.settings, self.fleet, self.start_at, self.end_at = settings, fleet, start, end
        self.live_first_wait = live_first_wait
        self.fraction = 0.0  # both phases (readings written, their rollups built): 1.0 only once complete
        self.phase = "writing"
        self.readings = {"written": 0, "rolled_up": 0, "total": 0}
        self.done = threading.Event()
        self.stopping = threading.Event()
        self.error: str | None = None
        self.seconds: float | None = None

    @property
    def loading(self) -> bool:
        return not self.done.is_set()

    def run(self) -> None:
        began = time.monotonic()
        write_marker(self.settings.data_dir, complete=False)
        try:
            self._wait_for_live()
            stored = simulator.backfill(raw_dsn(self.settings.database_url), self.settings.timezone, self.fleet,
                                        self.start_at, self.end_at,
                                        timedelta(seconds=self.settings.backfill_interval_seconds), progress=False,
                                        on_status=self._progress, should_stop=self.stopping.is_set)
            if not self.stopping.is_set():
                write_marker(self.settings.data_dir, complete=True)
                self.seconds = time.monotonic() - began
                log.info("demo history: %s readings in %.1f s", stored, self.seconds)
        except Exception as error:  # the live demo keeps running; the next start loads history again
            self.error = str(error)[:300]
            log.exception("demo history failed")
        finally:
            self.done.set()

    def _wait_for_live(self) -> None:
        """Let the live fleet's first readings reach the rollups before the load takes both cores (bounded):
        the overview shows the live fleet first, as the first start promises."""
        engine = create_db_engine(self.settings.database_url, pool_size=1)
        try:
            deadline = time.monotonic() + self.live_first_wait
            while time.monotonic() < deadline and not self.stopping.is_set():
                with session_scope(engine) as conn:
                    if overview_queries.live_rolled_up(conn, self.end_at - timedelta(hours=1)):
                        return
                self.stopping.wait(0.5)
        finally:
            engine.dispose()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.join(timeout)

    def _progress(self, status) -> None:
        """From the writing thread and the rollup builder's: counts only grow, so the fraction does too."""
        fraction = status.fraction
        self.readings = {"written": status.written, "rolled_up": status.built, "total": status.total}
        self.phase = status.phase
        if int(fraction * 10) > int(self.fraction * 10) or (fraction == 1.0 > self.fraction):
            log.info("demo history %d %% (%s: %s of %s readings written, %s rolled up)", int(fraction * 100),
                     status.phase, status.written, status.total, status.built)
        self.fraction = max(self.fraction, fraction)


def history_complete(data_dir: Path) -> bool | None:
    """True/False from the marker; None when there is none (a data directory older than the marker)."""
    path = data_dir / MARKER_NAME
    if not path.exists():
        return None
    try:
        return bool(json.loads(path.read_text()).get("complete"))
    except (ValueError, OSError):
        return False


def write_marker(data_dir: Path, complete: bool) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER_NAME).write_text(json.dumps({"complete": complete,
                                                    "at": datetime.now(timezone.utc).isoformat()}))
