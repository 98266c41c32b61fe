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


def _live_batch(database, gateway, instants: list[datetime], shift: dict | None = None) -> None:
    """Readings of `gateway` at `instants` through the live writer's exact merge (inline), as the live fleet
    sends them; `shift` maps an instant to a value added to every counter reading there (a drop)."""
    from ingest import payload as contract
    from ingest import statements
    from ingest.batch import ROLLUPS_INLINE, BatchStore
    from ingest.inbox import Envelope
    from ingest.simulator.fleet import readings_at

    batch = []
    for at in instants:
        readings = tuple(contract.Reading(r["device"], r["metric"], r["value"] + (shift or {}).get(at, 0.0)
                                          if r["metric"].endswith(("kwh", "m3")) else r["value"], at)
                         for r in readings_at(gateway, at))
        message = contract.TelemetryMessage(gateway.account, gateway.serial, at, None, readings, ())
        batch.append(Envelope(gateway.topic, b"", at, message=message))
    with database.connect(autocommit=False) as conn:  # the staging table lives for one transaction
        statements.prepare_session(conn)
        BatchStore(ZONE, rollups=ROLLUPS_INLINE).write(conn, batch)
        conn.commit()


def _state(database) -> dict:
    readings = _rounded(database.query(
        "SELECT device_id, metric_id, ts, consumption, quality FROM readings ORDER BY 1, 2, 3"))
    corrections = database.query("SELECT device_id, metric_id, ts, kind FROM meter_corrections ORDER BY 1, 2, 3")
    return {"readings": readings, "corrections": corrections, **_rollups(database)}


def test_hist004_set_based_build_equals_the_live_merge_with_drops_and_live_readings_at_the_seam(database, monkeypatch):
    """History with a glitch and a reset in it, live readings (a glitch and a reset too) before the load and
    during it: the consumption, corrections and every rollup equal the live merge path rebuilding them all."""
    monkeypatch.setattr(history, "BUILD_EVERY_CHUNKS", 9)  # windows cut inside months as well
    fleet = _fleet(database)
    glitch, reset = START + timedelta(days=20, hours=5), START + timedelta(days=45, hours=7)
    original = history.values_over

    def with_drops(device, role, gateway, instants):
        values = original(device, role, gateway, instants)
        if role.endswith("counter") and device.code == "MED-001":
            # a single low reading (a glitch); from `reset` on the counter restarted near zero (a reset)
            offset = original(device, role, gateway, [reset])[0] - 3.0
            values = [v - 50.0 if at == glitch else v - offset if at >= reset else v for at, v in zip(instants, values)]
        return values

    monkeypatch.setattr(history, "values_over", with_drops)
    hour = timedelta(hours=1)
    _live_batch(database, fleet[0], [END + timedelta(minutes=7), END + timedelta(minutes=67)])
    sent = []

    def live_during(status) -> None:
        if not sent and status.written > status.total // 2:
            sent.append(True)
            at = END + timedelta(minutes=127)
            _live_batch(database, fleet[0], [at, at + hour, at + 2 * hour, at + 3 * hour, at + 4 * hour],
                        shift={at + hour: -30.0, at + 3 * hour: -9000.0, at + 4 * hour: -9000.0})

    backfill(database.dsn, ZONE, fleet, START, END, hour, progress=False, on_status=live_during)
    assert sent and database.scalar("SELECT count(*) FROM readings WHERE ts > %s", (END,)) == 7 * 5
    built = _state(database)
    assert {kind for *_, kind in built["corrections"]} >= {"glitch", "reset"}
    assert sum(row[7] for row in built["consumption_monthly"]) == database.scalar("SELECT count(*) FROM readings")
    with database.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (ZONE,))
    assert built == _state(database)


def test_hist005_progress_covers_writes_and_rollups_and_reaches_one_only_when_complete(database):
    """Both phases counted: the writes done is not 100 % while the rollups are still being built."""
    fleet = _fleet(database)
    seen: list[tuple] = []

    def note(status) -> None:
        complete = status.done and database.scalar("SELECT count(*) FROM consumption_monthly") > 0
        seen.append((status.fraction, status.phase, status.written, status.built, status.total, complete))

    backfill(database.dsn, ZONE, fleet, START, END, timedelta(hours=6), progress=False, on_status=note)
    fractions = [row[0] for row in seen]
    assert fractions == sorted(fractions) and fractions.count(1.0) == 1 and fractions[-1] == 1.0
    assert seen[-1][1:] == ("done", seen[-1][4], seen[-1][4], seen[-1][4], True)
    written_all = [row for row in seen if row[2] == row[4] and row[3] < row[4]]
    assert written_all and all(row[0] < 1 and row[1] == "rollups" for row in written_all)
    assert any(0 < row[3] < row[4] for row in seen)  # counted month by month (70 days: three windows)


def test_hist006_the_demo_load_reports_its_phase_and_progress_in_health(database, mosquitto, tmp_path):
    from tds_dash.api.health import _history_status
    from tds_dash.background.history import HistoryLoad, history_complete
    from tests.helpers import settings_for

    settings = settings_for(database, mosquitto, TDS_DATA_DIR=str(tmp_path), TDS_BACKFILL_INTERVAL_SECONDS="21600")
    load = HistoryLoad(settings, _fleet(database), START, START + timedelta(days=40), live_first_wait=0)
    background = type("Background", (), {"history": load})()
    reported: list[dict] = []
    original = load._progress
    load._progress = lambda status: (original(status), reported.append(_history_status(background)))
    load.run()
    assert reported[0]["status"] == "loading" and reported[0]["phase"] == "writing"
    loading = [r for r in reported if r["status"] == "loading"]
    assert [r["progress"] for r in loading] == sorted(r["progress"] for r in loading)
    assert all(r["progress"] < 1 for r in loading) and any(r["phase"] == "rollups" for r in loading)
    assert loading[-1]["readings"]["written"] == loading[-1]["readings"]["total"] > 0
    assert _history_status(background)["status"] == "complete" and load.fraction == 1.0
    assert history_complete(tmp_path) is True
