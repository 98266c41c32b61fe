"""Read performance on big data: the data function of every chart callback over ~100 million readings.

Loads a synthetic fleet (bench/bigdata_load.py: binary COPY, rollups built set-based per month) into a
private embedded PostgreSQL, then times (p50/p95 over --repeat runs) the overview, the explorer (1 day,
1 month, 13 months; compare on and off; one device, one gateway, one account, the whole fleet; the
stacked and the total-line figure drawn from its store), the device page and the gateway page, and
answers the explorer's question from raw readings beside them (raw ÷ rollups).

A loaded database can be kept (--keep DIR) and read again (--reuse DIR), e.g. with another checkout's
query modules (--code DIR: a `git archive` of main) to time before and after on the same data, and
with --migrate to apply this checkout's new migrations to it first (timed: backfills included).
Usage: python bench/bigdata.py [--devices 2000] [--accounts 20] [--days 520] [--repeat 20]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("America/Sao_Paulo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--days", type=int, default=520)
    parser.add_argument("--interval-minutes", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--raw-repeat", type=int, default=3, help="runs of each raw-readings question (0: none)")
    parser.add_argument("--keep", type=Path, help="keep the loaded database in this directory")
    parser.add_argument("--reuse", type=Path, help="read a database kept by --keep instead of loading one")
    parser.add_argument("--migrate", action="store_true", help="with --reuse: apply pending migrations first")
    parser.add_argument("--code", type=Path, help="import tds_dash from this checkout (timing another version)")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each query")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import bigdata_load, bigdata_report  # noqa: PLC0415 -- these import tds_dash only when called
    from bench.common import machine  # noqa: PLC0415
    if args.code:  # every tds_dash import below comes from that checkout
        sys.path.insert(0, str(args.code.resolve()))
    from tds_dash.background.embedded import EmbeddedPostgres  # noqa: PLC0415

    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {_load()}")
    print(f"code: {args.code or ROOT}")
    data_dir = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="tds-bigdata-")) / "pg"
    server = EmbeddedPostgres(data_dir)
    try:
        if args.reuse is None:
            _load_fresh(server.dsn, args, bigdata_load)
        elif args.migrate:
            _migrate(server.dsn, bigdata_load)
        if not args.load_only:
            bigdata_report.report(server.url, args.repeat, args.raw_repeat, args.explain)
        print(f"load average at the end {_load()}")
    finally:
        server.stop()
        if args.reuse is None and args.keep is None:
            shutil.rmtree(data_dir.parent, ignore_errors=True)


def _load_fresh(dsn: str, args, bigdata_load) -> None:
    from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: PLC0415

    apply_migrations(dsn)
    ensure_rollup_timezone(dsn, ZONE.key)
    started = time.monotonic()
    timings = bigdata_load.load(dsn, args.accounts, args.devices, args.days, args.interval_minutes, ZONE)
    total = time.monotonic() - started
    print(f"loaded {timings['readings']:,} readings in {total:.0f} s ({timings['readings'] / total:,.0f}/s):"
          f" COPY {timings['copy_s']:.0f} s and rollups {timings['rollups_s']:.0f} s overlapping in"
          f" {timings['copy_rollups_wall_s']:.0f} s,"
          f" indexes {timings['indexes_s']:.0f} s, VACUUM ANALYZE {timings['vacuum_analyze_s']:.0f} s")
    _print_size(dsn, bigdata_load)


def _migrate(dsn: str, bigdata_load) -> None:
    import psycopg  # noqa: PLC0415

    from tds_dash.migrate import apply_migrations  # noqa: PLC0415

    started = time.monotonic()
    applied = apply_migrations(dsn)
    print(f"applied {applied} in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    print(f"ANALYZE in {time.monotonic() - started:.1f} s")
    _print_size(dsn, bigdata_load)


def _print_size(dsn: str, bigdata_load) -> None:
    size = bigdata_load.database_size(dsn)
    print(f"database size on disk: {size['total'] / 2**30:.2f} GiB")
    for name, total, heap in size["relations"]:
        print(f"  {name}: {total / 2**30:.2f} GiB ({heap / 2**30:.2f} GiB heap, rest indexes)")


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


if __name__ == "__main__":
    main()
