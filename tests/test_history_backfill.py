"""Demo history backfill: rollups merged beside the writes come out as a full rebuild would, even after an interrupted load."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.simulator import history
from ingest.simulator.fleet import build_fleet
from ingest.simulator.history import backfill
from ingest.simulator.provision import provision_fleet

ZONE = "America/Sao_Paulo"
START = datetime(2025, 9, 1, 3, tzinfo=timezone.utc)
END = datetime(2025, 11, 10, 3, tzinfo=timezone.utc)  # 70 days: three months' buckets, several merge groups
ROLLUPS = ("consumption_hourly", "consumption_daily", "consumption_monthly")


FLEET_ROLLUPS = ("fleet_hourly", "fleet_daily", "fleet_monthly")


def _rounded(rows) -> list[tuple]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


def _rollups(database) -> dict[str, list[tuple]]:
    devices = {table: _rounded(database.query(
        f"SELECT device_id, metric_id, bucket, consumption, min_value, max_value, sum_value, count, last_value,"
        f" last_ts FROM {table} ORDER BY device_id, metric_id, bucket")) for table in ROLLUPS}
    gateways = {table: _rounded(database.query(
        f"SELECT gateway_id, metric_id, bucket, consumption, count FROM {table} ORDER BY 1, 2, 3"))
        for table in FLEET_ROLLUPS}
    return {**devices, **gateways}


def _rebuilt(database) -> dict[str, list[tuple]]:
    with database.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (ZONE,))
    return _rollups(database)


def _fleet(database):
    fleet = build_fleet(["histco"], 1, 3, serial_prefix="HB")
    provision_fleet(database.engine(), fleet)
    return fleet


def test_hist001_rollups_merged_alongside_the_writes_equal_a_full_rebuild(database, monkeypatch):
    monkeypatch.setattr(history, "BUILD_EVERY_CHUNKS", 7)  # ten groups merged while later days are written
    fleet = _fleet(database)
    stored = backfill(database.dsn, ZONE, fleet, START, END, timedelta(hours=1), progress=False)
    assert stored == database.scalar("SELECT count(*) FROM readings") > 0
    merged = _rollups(database)
    assert all(merged[table] for table in ROLLUPS + FLEET_ROLLUPS)
    assert sum(row[7] for row in merged["consumption_monthly"]) == stored
    assert merged == _rebuilt(database)


def test_hist002_an_interrupted_load_redone_builds_the_rollups_of_what_it_had_written(database, monkeypatch):
    monkeypatch.setattr(history, "BUILD_EVERY_CHUNKS", 1000)  # nothing merged before the stop
    fleet = _fleet(database)
    chunks = iter(range(10_000))
    first = backfill(database.dsn, ZONE, fleet, START, END, timedelta(hours=1), progress=False,
                     should_stop=lambda: next(chunks) >= 20)  # stopped after 20 of 70 days
    assert 0 < first < database.scalar("SELECT count(*) FROM readings") + 1
    assert database.scalar("SELECT count(*) FROM consumption_daily") == 0
    second = backfill(database.dsn, ZONE, fleet, START, END, timedelta(hours=1), progress=False)
    assert second == database.scalar("SELECT count(*) FROM readings") - first  # the first 20 days were stored
    merged = _rollups(database)
    assert sum(row[7] for row in merged["consumption_monthly"]) == first + second
    assert merged == _rebuilt(database)


def test_hist003_progress_rises_chunk_by_chunk_without_a_progress_bar(database):
    """The app loads history with progress=False (no terminal bar): the fraction it shows must still rise."""
    fleet = _fleet(database)
    seen: list[float] = []
    backfill(database.dsn, ZONE, fleet, START, START + timedelta(days=10), timedelta(hours=6), progress=False,
             on_progress=seen.append)
    assert seen[:3] == [0.1, 0.2, 0.3]
    assert seen == sorted(seen) and seen[-3:] == [0.9, 0.99, 1.0]  # the last chunk waits for the rollups
