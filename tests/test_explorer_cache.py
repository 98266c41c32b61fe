"""The explorer's closed buckets kept in the process (tds_dash/queries/explorer_cache.py): the same tables as the
one statement, a late reading shows up at once, and a viewer of another scope never gets a kept answer."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ingest import simulator
from tds_dash import periods
from tds_dash.db import session_scope
from tds_dash.queries import consumption, explorer_cache
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.explorer_data import FLEET, write_history
from tests.test_explorer_queries import ZONE, assert_matches, direct_sums, energy_id, fetch

UTC = timezone.utc
NOW = datetime(2026, 3, 5, 12, tzinfo=ZONE)  # the 1st to the 4th of March are over, the 5th runs


@pytest.fixture
def loaded(database):
    simulator.provision_fleet(database.engine(), FLEET)
    explorer_cache.clear()
    return database


def _tables(database, granularity: str, period: periods.Period, scope=ALL_ACCOUNTS, selection=Selection(),
            cached: bool = True, top: int = 10):
    args = (scope, selection, energy_id(database), granularity, period.start, period.end, ZONE)
    with session_scope(database.engine()) as conn:
        if cached:
            return explorer_cache.explorer_tables(conn, *args, top=top, now=NOW)
        return consumption.explorer_tables(conn, *args, top=top)


def _by_key(totals, by_device):
    devices = {int(r.device_id): (r.code, r.gateway, r.account, r.consumption, r.min, r.avg, r.max, r.buckets)
               for r in totals.itertuples()}
    buckets = {(r.bucket, None if r.device_id is None or r.device_id != r.device_id else int(r.device_id)):
               r.consumption for r in by_device.astype({"device_id": object}).itertuples()}
    return devices, buckets


@pytest.mark.parametrize("granularity, first, last", [
    ("day", date(2026, 2, 24), date(2026, 3, 5)),     # across a month end, the 5th running
    ("week", date(2026, 2, 10), date(2026, 3, 5)),    # the week of the 2nd running
    ("month", date(2026, 1, 10), date(2026, 3, 5)),   # January partial, February whole, March running
    ("hour", date(2026, 3, 3), date(2026, 3, 5)),     # two days over by hour, the 5th running
    ("day", date(2026, 2, 20), date(2026, 2, 27)),    # all over: nothing read but the names
])
def test_exc001_kept_part_answers_as_the_one_statement(loaded, granularity, first, last):
    write_history(loaded, datetime(2026, 1, 5, tzinfo=UTC), NOW, timedelta(hours=5))
    period = periods.Period(first, last, ZONE)
    expected = _by_key(*_tables(loaded, granularity, period, cached=False))
    before = dict(explorer_cache.stats)
    for _ in range(2):  # read, then reused
        totals, by_device = _tables(loaded, granularity, period)
        got = _by_key(totals, by_device)
        assert set(got[0]) == set(expected[0]) and set(got[1]) == set(expected[1])
        for key, row in expected[0].items():
            assert got[0][key][:3] == row[:3] and got[0][key][7] == row[7]
            assert got[0][key][3:7] == pytest.approx(row[3:7], rel=1e-12)
        assert got[1] == pytest.approx(expected[1], rel=1e-12)
        assert list(totals["consumption"]) == sorted(totals["consumption"], reverse=True)
    assert explorer_cache.stats["read"] - before["read"] == 1
    assert explorer_cache.stats["reused"] - before["reused"] == 1
    # Top 2 and others: the others' sum per bucket is every other device's.
    totals, by_device = _tables(loaded, granularity, period, top=2)
    everything = by_device.groupby("bucket")["consumption"].sum()
    assert by_device["device_id"].isna().any()
    assert set(by_device["device_id"].dropna()) == set(totals["device_id"][:2])
    assert everything.to_dict() == pytest.approx(
        {b: sum(v for (bucket, _), v in expected[1].items() if bucket == b) for b in everything.index}, rel=1e-12)


def test_exc002_a_late_reading_for_a_kept_day_shows_up_and_todays_leave_it_kept(loaded):
    write_history(loaded, datetime(2026, 3, 1, 3, tzinfo=UTC), datetime(2026, 3, 3, 12, tzinfo=ZONE),
                  timedelta(hours=1))
    period = periods.Period(date(2026, 3, 1), date(2026, 3, 5), ZONE)
    assert len(fetch(loaded, period, "day", now=NOW).by_device) > 0
    read = explorer_cache.stats["read"]
    fetch(loaded, period, "day", now=NOW)
    assert explorer_cache.stats["read"] == read  # kept: the 1st to the 4th
    # The 3rd's afternoon arrives late (a gateway back online): its day is kept, and must be read again.
    write_history(loaded, datetime(2026, 3, 3, 12, tzinfo=ZONE), datetime(2026, 3, 4, tzinfo=ZONE), timedelta(hours=1))
    data = fetch(loaded, period, "day", now=NOW)
    assert explorer_cache.stats["read"] == read + 1
    assert_matches(data, direct_sums(loaded, period.start, period.end, "day"))
    assert data.by_device["bucket"].max() == periods.local_midnight(date(2026, 3, 3), ZONE)
    # Readings of the running day (live ingest) leave the kept days alone and show up at once.
    write_history(loaded, datetime(2026, 3, 5, tzinfo=ZONE), NOW, timedelta(hours=1))
    data = fetch(loaded, period, "day", now=NOW)
    assert explorer_cache.stats["read"] == read + 1
    assert_matches(data, direct_sums(loaded, period.start, period.end, "day"))
    assert data.by_device["bucket"].max() == periods.local_midnight(date(2026, 3, 5), ZONE)


def test_exc003_another_scopes_viewer_never_gets_the_kept_answer(loaded):
    write_history(loaded, datetime(2026, 3, 1, 3, tzinfo=UTC), NOW, timedelta(hours=2))
    period = periods.Period(date(2026, 3, 1), date(2026, 3, 5), ZONE)
    acme, globex = (loaded.scalar("SELECT id FROM accounts WHERE slug = %s", (slug,)) for slug in ("acme", "globex"))
    for _ in range(2):  # each answer kept, then each asked again
        fleet = fetch(loaded, period, "day", now=NOW)
        globex_only = fetch(loaded, period, "day", now=NOW, scope=Scope((globex,)))
        acme_chosen = fetch(loaded, period, "day", now=NOW, scope=Scope((globex,)), selection=Selection((acme,)))
        assert set(fleet.totals["account"]) == {"acme", "globex"}
        assert set(globex_only.totals["account"]) == {"globex"}
        assert acme_chosen.totals.empty and acme_chosen.by_device.empty
        globex_ids = set(globex_only.totals["device_id"])
        assert set(globex_only.by_device["device_id"]) == globex_ids
        assert globex_only.by_device["consumption"].sum() == pytest.approx(
            fleet.by_device[fleet.by_device["device_id"].isin(globex_ids)]["consumption"].sum())
