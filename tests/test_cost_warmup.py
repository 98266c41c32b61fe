"""The overview card's two spans of this month priced once, and the cost warm-up job
(tds_dash/consumption/cost_warmup.py) against a real PostgreSQL and real processes: the card prices a changed
device once for both spans and equals live pricing and the hour-by-hour reference to the centavo; after the job
every running-month read (the card, the 13 months to past the month's end, per device) prices nothing and
answers what a cold read answers; the job warms again after a new day, a new hour and a surcharge edit, and
two processes warming at once price the month's prefix once between them while each warms its own memory."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg

from tds_dash.consumption import cost_warmup, month_cost
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import month_prefix, service, today_cache
from tds_dash.tariffs.engine import ZERO, exact
from tests.helpers import wait_until
from tests.hourly_pricing import engine_priced
from tests.test_cost_cache import fleet_with
from tests.test_cost_prefix import EARLIER, NOW, TOMORROW, agrees_with_live, breakdown, per_device
from tests.test_tariffs_db import ADMIN, METRIC, ZONE, at

MONTH = at(date(2026, 12, 1))
SO_FAR, CUT = at(date(2026, 12, 17), 15), at(date(2026, 12, 17), 14)  # NOW is 17/12 14:30: the card's two ends
ROOT = Path(__file__).resolve().parent.parent


def card(fleet, now=NOW):
    with session_scope(fleet.engine) as conn:
        return month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, now, ZONE)


def priced_by(read) -> tuple[int, int]:
    """(devices priced, devices reused) of today's hours by one read."""
    before = dict(today_cache.stats)
    read()
    return today_cache.stats["priced"] - before["priced"], today_cache.stats["reused"] - before["reused"]


def reference_total(fleet, start, end):
    with session_scope(fleet.engine) as conn:
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, fleet.acme, METRIC)
        _, lines = engine_priced(conn, ALL_ACCOUNTS, tariff, start, end, ZONE, ())
    with exact():
        return sum((x.amount for x in lines), ZERO)


def test_tcw001_the_cards_two_spans_price_a_changed_device_once(database):
    fleet = fleet_with(database, 14)
    today_cache.clear()
    assert priced_by(lambda: card(fleet)) == (2, 0)  # cold: each device once for "so far" and "to the cut"
    assert priced_by(lambda: card(fleet)) == (0, 2)
    device = fleet.devices["acme"][0]
    fleet.database.execute(  # the hour in progress of one device (the rollup pass's update)
        "UPDATE consumption_hourly SET consumption = consumption + 2.5 WHERE device_id = %s AND bucket = %s",
        (device, CUT))
    assert priced_by(lambda: card(fleet)) == (1, 1)
    got = card(fleet)
    assert got.current == breakdown(fleet, EARLIER, (MONTH, SO_FAR)).total == reference_total(fleet, MONTH, SO_FAR)
    assert got.compared == breakdown(fleet, EARLIER, (MONTH, CUT)).total == reference_total(fleet, MONTH, CUT)
    assert got.current > got.compared > 0
    previous = (at(date(2026, 11, 1)), at(date(2026, 11, 17), 14))
    assert got.previous == breakdown(fleet, EARLIER, previous).total == reference_total(fleet, *previous)


def test_tcw002_after_the_warm_up_reads_price_nothing_and_equal_a_cold_read(database):
    fleet = fleet_with(database, 23)
    today_cache.clear()
    warmer = cost_warmup.CostWarmer(fleet.engine, ZONE)
    assert warmer.run(NOW) == {"warmed": 1, "unchanged": 0, "failed": 0}
    prefixes = month_prefix.stats["priced"]
    # The card, the 13 months up to past the month's end (bars, explorer, API), per device: all from the caches.
    assert priced_by(lambda: card(fleet)) == (0, 2)
    assert priced_by(lambda: breakdown(fleet, NOW)) == (0, 2)
    assert priced_by(lambda: per_device(fleet, NOW)) == (0, 2)
    assert month_prefix.stats["priced"] == prefixes
    warm = (card(fleet), breakdown(fleet, NOW).buckets, per_device(fleet, NOW))
    today_cache.clear()
    assert (card(fleet), breakdown(fleet, NOW).buckets, per_device(fleet, NOW)) == warm  # a cold read
    agrees_with_live(fleet, NOW)  # and live grouped pricing, the hour-by-hour reference
    assert warmer.run(NOW) == {"warmed": 0, "unchanged": 1, "failed": 0}  # nothing moved
    with session_scope(fleet.engine) as conn:  # December's bandeira raised: every process warms again
        service.set_surcharge(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, {"month": "2026-12", "value": "0,5"})
    assert warmer.run(NOW)["warmed"] == 1
    assert priced_by(lambda: card(fleet)) == (0, 2) and priced_by(lambda: breakdown(fleet, NOW)) == (0, 2)
    agrees_with_live(fleet, NOW)
    assert warmer.run(TOMORROW)["warmed"] == 1  # a new day: the month's prefix up to yesterday, today's hours
    prefixes = month_prefix.stats["priced"]
    assert priced_by(lambda: card(fleet, TOMORROW)) == (0, 2)
    assert priced_by(lambda: breakdown(fleet, TOMORROW)) == (0, 2) and month_prefix.stats["priced"] == prefixes
    assert card(fleet, TOMORROW).current == reference_total(fleet, MONTH, at(date(2026, 12, 18), 11))


WARM_UP = """
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from tds_dash.consumption.cost_warmup import CostWarmer
from tds_dash.db import create_db_engine
from tds_dash.tariffs import month_prefix, today_cache
counts = CostWarmer(create_db_engine(sys.argv[1]), ZoneInfo(sys.argv[2])).run(datetime.fromisoformat(sys.argv[3]))
print(json.dumps({**counts, "prefixes": month_prefix.stats["priced"], "today": today_cache.stats["priced"]}))
"""


def test_tcw003_two_processes_price_the_prefix_once_and_each_warms_its_own_memory(database):
    fleet = fleet_with(database, 14)
    tariff = database.scalar("SELECT id FROM tariffs WHERE account_id = %s", (fleet.acme,))
    with psycopg.connect(database.dsn) as held:  # a third process in the middle of warming this tariff
        held.execute("SELECT pg_advisory_xact_lock(%s, %s)", (cost_warmup.LOCK_KEY, tariff))
        workers = [subprocess.Popen([sys.executable, "-c", WARM_UP, database.url, ZONE.key, NOW.isoformat()],
                                    cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            wait_until(lambda: held.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0] == 2,
                timeout=120, message="both processes wait for the warm-up in progress")
        except BaseException:
            for worker in workers:
                worker.kill()
            raise
    results = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert [r["warmed"] for r in results] == [1, 1]
    assert sorted(r["prefixes"] for r in results) == [0, 2]  # the month's prefix: priced once between them
    assert [r["today"] for r in results] == [2, 2]  # today's hours: each process's own memory
    prefixes = month_prefix.stats["priced"]
    assert breakdown(fleet, NOW).total == breakdown(fleet, EARLIER).total  # read here, valid: not priced again
    assert month_prefix.stats["priced"] == prefixes
