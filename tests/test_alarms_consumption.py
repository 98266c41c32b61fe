"""Consumption rules against hand-computed hourly series: night flow and spike across DST (America/New_York)
and in America/Sao_Paulo, stuck meters, thresholds with a clear band."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash.alarms import evaluation, localtime

UTC = timezone.utc
NEW_YORK, SAO_PAULO = ZoneInfo("America/New_York"), ZoneInfo("America/Sao_Paulo")


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("night, start, end, zone, expected", [
    # 2026-03-08: New York springs forward at 02:00 EST -> 03:00 EDT; 02:00-05:00 has two hours.
    (date(2026, 3, 7), 2, 5, NEW_YORK, [z(2026, 3, 7, 7), z(2026, 3, 7, 8), z(2026, 3, 7, 9)]),
    (date(2026, 3, 8), 2, 5, NEW_YORK, [z(2026, 3, 8, 7), z(2026, 3, 8, 8)]),
    (date(2026, 3, 9), 2, 5, NEW_YORK, [z(2026, 3, 9, 6), z(2026, 3, 9, 7), z(2026, 3, 9, 8)]),
    # 2026-11-01: falls back at 02:00 EDT -> 01:00 EST; 01:00-04:00 has four hours.
    (date(2026, 11, 1), 1, 4, NEW_YORK, [z(2026, 11, 1, 5), z(2026, 11, 1, 6), z(2026, 11, 1, 7), z(2026, 11, 1, 8)]),
    (date(2026, 11, 1), 2, 5, NEW_YORK, [z(2026, 11, 1, 7), z(2026, 11, 1, 8), z(2026, 11, 1, 9)]),
    # A window across midnight, and Sao Paulo (UTC-3 all year since 2019).
    (date(2026, 6, 1), 23, 2, SAO_PAULO, [z(2026, 6, 2, 2), z(2026, 6, 2, 3), z(2026, 6, 2, 4)]),
    (date(2026, 11, 1), 2, 5, SAO_PAULO, [z(2026, 11, 1, 5), z(2026, 11, 1, 6), z(2026, 11, 1, 7)]),
])
def test_alc001_night_window_hours_are_local_and_dst_correct(night, start, end, zone, expected):
    assert localtime.night_hours(night, start, end, zone) == expected


def test_alc002_same_local_hour_across_fall_back_and_skipped_hours():
    # 10:00 EST on 2026-11-02 is 15:00Z; the same local hour before 1 November was 14:00Z (EDT).
    history = localtime.same_hour_before(z(2026, 11, 2, 15), 3, NEW_YORK)
    assert history == [z(2026, 11, 1, 15), z(2026, 10, 31, 14), z(2026, 10, 30, 14)]
    # 02:00 did not exist in New York on 2026-03-08: no sample for that day.
    assert localtime.same_hour_before(z(2026, 3, 9, 6), 2, NEW_YORK) == [z(2026, 3, 7, 7)]
    assert localtime.last_completed_night(z(2026, 3, 8, 8, 59), 2, 5, NEW_YORK) == date(2026, 3, 7)
    assert localtime.last_completed_night(z(2026, 3, 8, 9), 2, 5, NEW_YORK) == date(2026, 3, 8)


@pytest.fixture
def meters(database):
    """acme, one gateway online, devices MED-001..003 each with a counter energy_kwh; returns their ids."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 3))
    database.execute("UPDATE gateways SET status = 'online', status_since = now()")
    database.execute("INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit) SELECT d.id, m.id,"
                     " 'counter', 'kWh' FROM devices d, metrics m WHERE m.name = 'energy_kwh'")
    return [row[0] for row in database.query("SELECT id FROM devices ORDER BY code")]


def hourly(database, device_id: int, values: dict[datetime, float], table: str = "consumption_hourly") -> None:
    """Hand-made rollup rows (the rollups the ingest writes, with the consumption we chose)."""
    for bucket, value in values.items():
        database.execute(
            f"INSERT INTO {table} (device_id, metric_id, bucket, account_id, consumption, min_value, max_value,"
            " sum_value, count, last_value, last_ts) SELECT d.id, m.id, %s, d.account_id, %s, 0, 0, 0, 4, 0, %s"
            " FROM devices d, metrics m WHERE d.id = %s AND m.name = 'energy_kwh'"
            " ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET consumption = EXCLUDED.consumption",
            (bucket, value, bucket, device_id))


def rule(database, kind: str, params: dict, **columns) -> None:
    names = ", ".join(["account_id", "kind", "name", "severity", "params", *columns])
    values = ", ".join(["%s"] * (len(columns) + 1))
    database.execute(f"INSERT INTO alarm_rules ({names}) SELECT a.id, %s, %s, 'major', {values} FROM accounts a",
                     (kind, kind, json.dumps(params), *columns.values()))


def run(database, now: datetime, zone: ZoneInfo) -> dict:
    return evaluation.evaluate(database.engine(), now, zone, evaluation.SLOW_KINDS)


def raised(database) -> list[tuple]:
    return database.query("SELECT kind, device_id, count, cleared_at IS NULL FROM alarms ORDER BY device_id, id")


def test_alc003_night_flow_three_nights_across_spring_forward_in_new_york(database, meters):
    leak, dry_once, naive = meters
    nights = [localtime.night_hours(date(2026, 3, day), 2, 5, NEW_YORK) for day in (6, 7, 8)]
    for hours in nights:
        hourly(database, leak, {hour: 0.8 for hour in hours})
        hourly(database, dry_once, {hour: 0.8 for hour in hours})
    hourly(database, dry_once, {z(2026, 3, 8, 8): 0.2})  # 04:00 EDT below the floor: not every hour
    # Water at the UTC hours of a fixed -05:00 offset on 8 March (06-09Z) except 07Z: wrong hours for the leak.
    hourly(database, naive, {hour: 0.8 for hours in nights[:2] for hour in hours})
    hourly(database, naive, {z(2026, 3, 8, 6): 0.8, z(2026, 3, 8, 8): 0.8, z(2026, 3, 8, 9): 0.8})
    rule(database, "night_flow", {"start": "02:00", "end": "05:00", "floor": 0.5, "nights": 3})
    assert run(database, z(2026, 3, 8, 8, 59), NEW_YORK)["raised"] == 0  # 8 March's window ends at 09:00Z
    assert run(database, z(2026, 3, 8, 9, 0), NEW_YORK)["raised"] == 1
    assert raised(database) == [("night_flow", leak, 1, True)]
    # The next night is dry: the alarm clears once that night is over.
    hourly(database, leak, {hour: 0.0 for hour in localtime.night_hours(date(2026, 3, 9), 2, 5, NEW_YORK)})
    assert run(database, z(2026, 3, 9, 9, 0), NEW_YORK)["cleared"] == 1


def test_alc004_night_flow_in_sao_paulo_needs_consecutive_nights(database, meters):
    leak = meters[0]
    for day in (10, 11, 12):
        hourly(database, leak, {z(2026, 11, day, h): 1.5 for h in (5, 6, 7)})  # 02:00-05:00 at UTC-3
    rule(database, "night_flow", {"start": "02:00", "end": "05:00", "floor": 1.0, "nights": 3})
    assert run(database, z(2026, 11, 12, 9), SAO_PAULO)["raised"] == 1
    assert run(database, z(2026, 11, 12, 10), SAO_PAULO)["raised"] == 0  # same night: the same alarm
    hourly(database, leak, {z(2026, 11, 13, h): 1.5 for h in (5, 6, 7)})
    run(database, z(2026, 11, 13, 9), SAO_PAULO)
    assert raised(database) == [("night_flow", leak, 2, True)]  # a fourth wet night re-raises: count 2


def test_alc005_spike_against_the_same_local_hour_across_fall_back(database, meters):
    device = meters[0]
    hour = z(2026, 11, 2, 15)  # 10:00 EST
    same_local_hour = localtime.same_hour_before(hour, 28, NEW_YORK)
    hourly(database, device, {bucket: 1.0 for bucket in same_local_hour})
    # At the same UTC hour on the EDT days (11:00 local) the meter usually draws 10: not the same local hour.
    hourly(database, device, {bucket + timedelta(hours=1): 10.0 for bucket in same_local_hour
                              if bucket.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)})
    hourly(database, device, {hour: 5.0})
    rule(database, "spike", {"factor": 3.0, "weeks": 4, "min_samples": 7, "min_consumption": 0.0})
    assert run(database, hour + timedelta(minutes=61), NEW_YORK)["raised"] == 1  # 5 > 3 x median(1)
    assert database.query("SELECT value, threshold FROM alarms") == [(5.0, 3.0)]
    hourly(database, device, {hour + timedelta(hours=1): 1.0})
    assert run(database, hour + timedelta(minutes=121), NEW_YORK)["cleared"] == 1


def test_alc006_spike_in_sao_paulo_needs_enough_history(database, meters):
    device = meters[0]
    hour = z(2026, 11, 20, 13)  # 10:00 local
    history = localtime.same_hour_before(hour, 28, SAO_PAULO)
    assert all(b.hour == 13 for b in history)
    hourly(database, device, {bucket: 2.0 for bucket in history[:6]} | {hour: 9.0})
    rule(database, "spike", {"factor": 3.0, "weeks": 4, "min_samples": 7, "min_consumption": 0.0})
    assert run(database, hour + timedelta(minutes=65), SAO_PAULO)["raised"] == 0  # 6 samples < 7
    hourly(database, device, {history[6]: 2.0})
    assert run(database, hour + timedelta(minutes=65), SAO_PAULO)["raised"] == 1


def test_alc007_stuck_counter_reporting_zero_for_24_hours(database, meters):
    stuck, moving, _ = meters
    end = z(2026, 11, 20, 12)
    hours = [end - timedelta(hours=k) for k in range(1, 25)]
    hourly(database, stuck, {h: 0.0 for h in hours})
    hourly(database, moving, {h: 0.0 for h in hours} | {hours[5]: 0.1})
    rule(database, "meter_stuck", {"hours": 24})
    assert run(database, end + timedelta(minutes=5), SAO_PAULO)["raised"] == 1
    assert raised(database) == [("meter_stuck", stuck, 1, True)]
    assert database.scalar("SELECT started_at FROM alarms") == end - timedelta(hours=24)
    hourly(database, moving, {end: 0.0})
    hourly(database, stuck, {end: 0.0})
    # An hour later the window has slid: still the same occurrence, not a re-raise.
    assert run(database, end + timedelta(minutes=65), SAO_PAULO) == {"raised": 0, "reraised": 0, "cleared": 0,
                                                                     "suppressed": 0}
    # Behind an offline gateway nothing new is raised, and what is active stays.
    database.execute("UPDATE gateways SET status = 'offline'")
    hourly(database, moving, {end + timedelta(hours=1): 0.0})
    hourly(database, stuck, {end + timedelta(hours=1): 0.0})
    assert run(database, end + timedelta(minutes=125), SAO_PAULO) == {"raised": 0, "reraised": 0, "cleared": 0,
                                                                      "suppressed": 2}
    assert raised(database) == [("meter_stuck", stuck, 1, True)]


def test_alc008_daily_threshold_with_a_clear_band(database, meters):
    device = meters[0]
    day = z(2026, 11, 20, 3)  # local midnight in Sao Paulo
    rule(database, "consumption_above", {"period": "day", "per": "device", "threshold": 100, "clear_threshold": 90},
         device_id=device)
    for value, outcome in ((99.0, "none"), (120.0, "raised"), (95.0, "none"), (85.0, "cleared")):
        hourly(database, device, {day: value}, table="consumption_daily")
        counts = run(database, day + timedelta(hours=12), SAO_PAULO)
        assert [k for k in ("raised", "cleared") if counts[k]] == ([] if outcome == "none" else [outcome]), value
    assert database.query("SELECT value, threshold, cleared_at IS NOT NULL FROM alarms") == [(95.0, 100.0, True)]
