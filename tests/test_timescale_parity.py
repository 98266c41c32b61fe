"""Both backends side by side: the same readings, in the same order, must give identical per-reading
consumption, corrections, rollups and UI query answers on plain PostgreSQL and on TimescaleDB.
(How backends are set up and readings written: tests/rollup_check.py; why: tests/test_timescale.py.)
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from tds_dash.db import create_db_engine
from tds_dash.queries import consumption
from tds_dash.queries.scope import Scope
from tests.helpers import Database
from tests.rollup_check import (
    LEVELS,
    Backend,
    Row,
    envelopes,
    fetch,
    in_batches,
    local,
    make_rows,
    provision,
    same,
    write,
)

SAO_PAULO = "America/Sao_Paulo"


def counter_with_drops(rng: random.Random, start: datetime, count: int) -> list[Row]:
    """A counter with glitches (one low reading, then back up), resets (low and staying low) and gaps."""
    rows, level, at = [], 5000.0, start
    for _ in range(count):
        at += timedelta(minutes=rng.choice([15, 30, 30, 45, 240]))
        draw = rng.random()
        if draw < 0.05:
            value = round(level * rng.uniform(0.1, 0.9), 3)  # a glitch: the next reading climbs back
        elif draw < 0.08:
            level = value = round(rng.uniform(0, 50), 3)  # a reset: the meter starts over
        else:
            level = value = round(level + rng.uniform(0, 6), 3)
        rows.append(Row("MED-001", "energy_kwh", at, value))
    return rows


def test_tsdb014_counter_drops_give_the_same_rollups_and_corrections_on_both_backends(database, timescale_database):
    """Glitch, reset and provisional-drop rules live in tds_update_consumption, shared by both paths:
    the same readings, arriving in the same shuffled order, must give identical rollups everywhere."""
    rng = random.Random(14)
    rows = counter_with_drops(rng, local(SAO_PAULO, 2025, 5, 28), 400)
    results = []
    for backend in (Backend("postgres", database), Backend("timescale", timescale_database)):
        backend.cut_in(SAO_PAULO)
        slug, serial = provision(backend.db)
        messages = envelopes(rows, slug, serial)
        order = random.Random(1)
        for index, start in enumerate(range(0, len(messages), 50)):  # shuffled within ~2-day blocks
            block = messages[start:start + 50]
            write(backend.db, SAO_PAULO, in_batches(order.sample(block, len(block)), 10))
            if index % 2:
                backend.refresh()
        backend.refresh()
        per_reading = backend.db.query(
            "SELECT r.ts, r.consumption, r.quality FROM readings r JOIN devices d ON d.id = r.device_id"
            " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s ORDER BY r.ts", (serial,))
        rollups = {view: fetch(backend.db, view, serial) for view in LEVELS}
        results.append((per_reading, rollups))

    (plain_readings, plain_rollups), (ts_readings, ts_rollups) = results
    assert len(plain_readings) == len(rows) and {q for _, _, q in plain_readings} >= {None, "glitch", "reset"}
    assert [(ts, q) for ts, _, q in ts_readings] == [(ts, q) for ts, _, q in plain_readings]
    assert all(math.isclose(a, b, abs_tol=1e-9) for (_, a, _), (_, b, _) in zip(ts_readings, plain_readings))
    for view in LEVELS:
        assert sorted(ts_rollups[view]) == sorted(plain_rollups[view]), view
        wrong = [key for key, row in plain_rollups[view].items() if not same(ts_rollups[view][key], row)]
        assert not wrong, f"{view}: {wrong[:3]}"


def ui_answers(db: Database, serial: str) -> dict:
    """What the explorer, the device page and /api/v1 read (tds_dash.queries.consumption), with the
    backend's own ids replaced by device codes so two databases can be compared."""
    zone, start, end = ZoneInfo(SAO_PAULO), local(SAO_PAULO, 2025, 2, 1), local(SAO_PAULO, 2025, 12, 1)
    engine = create_db_engine(db.url, pool_size=1)
    try:
        with engine.connect() as conn:
            account, devices = conn.execute(sa.text(
                "SELECT g.account_id, array_agg(d.id ORDER BY d.code) FROM gateways g JOIN devices d"
                " ON d.gateway_id = g.id WHERE g.serial = :serial GROUP BY 1"), {"serial": serial}).one()
            selection, metric = consumption.Selection.of(accounts=account), consumption.find_metric(conn, "energy_kwh")
            answers = {
                level: consumption.total_series(conn, Scope(), selection, metric["id"], level, start, end, zone)
                for level in ("hour", "day", "month")}
            answers["totals"] = consumption.device_totals(conn, Scope(), selection, metric["id"], "day", start, end,
                                                          zone)[["code", "consumption", "min", "avg", "max", "buckets"]]
            answers["series"] = consumption.device_series(conn, Scope(), list(devices), "day", start, end, zone) \
                .drop(columns="device_id")
            # An uneven range: whole months, days and hours from their own rollups.
            answers["between"] = consumption.total_between(conn, Scope(), selection, metric["id"],
                                                           local(SAO_PAULO, 2025, 2, 27, 13), end, zone)
    finally:
        engine.dispose()  # the WASM server serves one connection at a time: give it back now
    return answers


def test_tsdb015_ui_queries_answer_the_same_on_both_backends(database, timescale_database):
    rows = make_rows(SAO_PAULO, seed=15)
    answers = []
    for backend in (Backend("postgres", database), Backend("timescale", timescale_database)):
        backend.cut_in(SAO_PAULO)
        slug, serial = provision(backend.db)
        write(backend.db, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
        backend.refresh()
        answers.append(ui_answers(backend.db, serial))
    plain, timescale = answers
    assert not plain["month"].empty and plain["between"] > 0
    assert math.isclose(timescale["between"], plain["between"], rel_tol=1e-9)
    for key in ("hour", "day", "month", "totals", "series"):
        pd.testing.assert_frame_equal(timescale[key].reset_index(drop=True), plain[key].reset_index(drop=True),
                                      check_exact=False, rtol=1e-9, obj=key)
