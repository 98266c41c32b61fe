"""Every statement the ingest path runs, each a small named function with bound parameters."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import psycopg
from psycopg.types.json import Jsonb

STAGING_TYPES = ("int8", "int2", "timestamptz", "float8", "int8", "int8", "timestamptz", "int4")
ROLLUP_LOCK_KEY = 7_301_020  # any fixed number, the same in every process


class ReadingRow(NamedTuple):
    """One reading as COPY writes it (a tuple, so binary COPY takes it as it is), in STAGING_TYPES order."""

    device_id: int
    metric_id: int
    ts: datetime
    value: float
    account_id: int
    gateway_id: int
    received_at: datetime
    position: int  # index in the batch's rows: how the database names a row it refused (too late)


class TooLate(NamedTuple):
    """A staged row older than the late-data window before its key's newest stored reading."""

    position: int
    newest: datetime


class ChangedKey(NamedTuple):
    """A (device, metric) that got new readings in a batch: from when the rollups must be recomputed."""

    device_id: int
    metric_id: int
    earliest: datetime
    inserted: int


class GatewaySeen(NamedTuple):
    """What one batch saw of a gateway: written once per gateway per batch, not per message."""

    gateway_id: int
    last_seen: datetime
    last_seq: int | None
    new_gaps: int


@dataclasses.dataclass
class GatewayRow:
    id: int
    account_id: int
    account_slug: str
    active: bool
    last_seq: int | None
    auto_provision: bool = True  # the account's switch: create devices first seen in traffic


@dataclasses.dataclass(frozen=True)
class RejectedRow:
    received_at: datetime
    topic: str
    reason: str
    detail: str
    account_slug: str | None
    gateway_serial: str | None
    readings_rejected: int
    readings_accepted: int
    payload: bytes
    payload_size: int | None = None  # None: len(payload)

    EXCERPT_BYTES = 4096


def prepare_session(conn: psycopg.Connection) -> None:
    """Per-connection setup: UTC session and a staging table emptied at every commit."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staged_readings ("
        " device_id bigint, metric_id smallint, ts timestamptz, value double precision,"
        " account_id bigint, gateway_id bigint, received_at timestamptz, position integer) ON COMMIT DELETE ROWS"
    )
    conn.commit()


def fetch_gateways(conn: psycopg.Connection, serials: Sequence[str]) -> dict[str, GatewayRow]:
    rows = conn.execute(
        "SELECT g.serial, g.id, g.account_id, a.slug, g.active, g.last_seq, a.auto_provision"
        " FROM gateways g JOIN accounts a ON a.id = g.account_id WHERE g.serial = ANY(%s)",
        (list(serials),),
    ).fetchall()
    return {row[0]: GatewayRow(row[1], row[2], row[3], row[4], row[5], row[6]) for row in rows}


def fetch_devices(conn: psycopg.Connection, gateway_ids: Sequence[int]) -> dict[int, dict[str, tuple[int, bool]]]:
    """gateway id -> device code -> (device id, active); every asked gateway has an entry."""
    rows = conn.execute(
        "SELECT gateway_id, code, id, active FROM devices WHERE gateway_id = ANY(%s)", (list(gateway_ids),)
    ).fetchall()
    devices: dict[int, dict[str, tuple[int, bool]]] = {gateway_id: {} for gateway_id in gateway_ids}
    for gateway_id, code, device_id, active in rows:
        devices[gateway_id][code] = (device_id, active)
    return devices


def create_devices(conn: psycopg.Connection, new: Iterable[tuple[int, int, str]]) -> None:
    """Auto-provision (gateway id, account id, code) devices first seen in traffic."""
    conn.cursor().executemany(
        "INSERT INTO devices (gateway_id, account_id, code, name, provisioned)"
        " VALUES (%s, %s, %s, %s, 'auto') ON CONFLICT (gateway_id, code) DO NOTHING",
        [(gateway_id, account_id, code, code) for gateway_id, account_id, code in new],
    )


def fetch_metrics(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT name, id FROM metrics").fetchall())


def create_metrics(conn: psycopg.Connection, names: Iterable[str]) -> None:
    """Unknown metric names are learned as gauges (no consumption) until someone says otherwise."""
    conn.cursor().executemany(
        "INSERT INTO metrics (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", [(name,) for name in names]
    )


def stage_readings(conn: psycopg.Connection, rows: Sequence[ReadingRow]) -> None:
    """COPY the batch's rows into the session's staging table."""
    with conn.cursor() as cursor:
        # Binary: psycopg encodes each row in C, about 5x less Python time per row than text COPY (bench/).
        with cursor.copy(
            "COPY staged_readings (device_id, metric_id, ts, value, account_id, gateway_id, received_at, position)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(STAGING_TYPES)
            write_row = copy.write_row
            for row in rows:
                write_row(row)


def unstage_too_late(conn: psycopg.Connection, window: timedelta) -> list[TooLate]:
    """Remove staged rows older than `window` before their key's newest stored reading; return them.

    In the database, no key list built in Python: one probe per key of the newest stored reading, kept
    only for keys whose earliest staged row is that late (usually none: then nothing else runs). The
    probe once ran inside the DELETE, inlined once per staged row (12,500 probes for 1,000 keys: 106 of a
    batch's 378 ms, bench/RESULTS.md)."""
    late = conn.execute(
        "SELECT k.device_id, k.metric_id, n.ts"
        " FROM (SELECT device_id, metric_id, min(ts) AS earliest FROM staged_readings GROUP BY 1, 2) k"
        " CROSS JOIN LATERAL (SELECT r.ts FROM readings r WHERE r.device_id = k.device_id"
        "   AND r.metric_id = k.metric_id ORDER BY r.ts DESC LIMIT 1) n"
        " WHERE k.earliest < n.ts - %s",
        (window,),
    ).fetchall()
    if not late:
        return []
    rows = conn.execute(
        "DELETE FROM staged_readings s USING unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS n(d, m, ts)"
        " WHERE s.device_id = n.d AND s.metric_id = n.m AND s.ts < n.ts - %s"
        " RETURNING s.position, n.ts",
        ([row[0] for row in late], [row[1] for row in late], [row[2] for row in late], window),
    ).fetchall()
    return sorted(TooLate(*row) for row in rows)


def staged_keys(conn: psycopg.Connection) -> list[ChangedKey]:
    """Every key in the staging table from its earliest row (inserted counts every staged row)."""
    rows = conn.execute("SELECT device_id, metric_id, min(ts), count(*) FROM staged_readings GROUP BY 1, 2").fetchall()
    return [ChangedKey(*row) for row in rows]


# The staged rows, each with the consumption the rollup worker will most likely give it, so that its
# pass finds nothing to rewrite: a delta's value; a counter's increase over the previous reading (the
# batch's own, or the newest stored one; a key's first reading: 0) when the key's readings only rise and
# all follow what is stored, the fast path of tds_update_consumption; otherwise NULL. Only a first
# guess: the worker still recomputes every key exactly and rewrites what differs (a reading committed
# meanwhile by another writer, a drop, a late key). Its UPDATE of half the rows (new row versions and
# index entries for every counter reading) was the largest single PostgreSQL cost per reading
# (bench/RESULTS.md); the guess costs a sort of the batch and one probe per counter key.
GUESSED_ROWS = (
    "WITH keys AS ("
    " SELECT k.device_id, k.metric_id, k.first_ts, coalesce(dm.meter_kind, m.meter_kind) AS kind,"
    "  p.ts AS prev_ts, p.value AS prev_value, p.quality AS prev_quality"
    " FROM (SELECT device_id, metric_id, min(ts) AS first_ts FROM staged_readings GROUP BY 1, 2) k"
    " JOIN metrics m ON m.id = k.metric_id"
    " LEFT JOIN device_metrics dm ON dm.device_id = k.device_id AND dm.metric_id = k.metric_id"
    " LEFT JOIN LATERAL (SELECT r.ts, r.value, r.quality FROM readings r WHERE r.device_id = k.device_id"
    "   AND r.metric_id = k.metric_id AND coalesce(dm.meter_kind, m.meter_kind) = 'counter'"
    "   ORDER BY r.ts DESC LIMIT 1) p ON true"
    "), based AS ("
    " SELECT s.*, k.kind, k.first_ts, k.prev_ts, k.prev_quality,"
    "  coalesce(lag(s.value) OVER (PARTITION BY s.device_id, s.metric_id ORDER BY s.ts), k.prev_value) AS base"
    " FROM staged_readings s JOIN keys k ON k.device_id = s.device_id AND k.metric_id = s.metric_id"
    "), judged AS ("
    " SELECT b.*, bool_and(b.base IS NULL OR b.value >= b.base) OVER (PARTITION BY b.device_id, b.metric_id) AS rising"
    " FROM based b"
    ") SELECT device_id, metric_id, ts, value,"
    " CASE kind WHEN 'delta' THEN value WHEN 'counter' THEN CASE WHEN rising AND prev_quality IS NULL"
    "  AND (prev_ts IS NULL OR prev_ts < first_ts) THEN coalesce(value - base, 0) END END,"
    " account_id, gateway_id, received_at FROM judged"
)
PLAIN_ROWS = ("SELECT device_id, metric_id, ts, value, NULL::double precision, account_id, gateway_id, received_at"
              " FROM staged_readings")
GUESS_CONSUMPTION = True  # bench/writer_only.py --no-guess measures without


def insert_staged_readings(conn: psycopg.Connection, log_changes: bool = False) -> list[ChangedKey]:
    """Keep only the staged rows not stored yet; returns the keys that got new readings (give the new ones
    their meter settings: ensure_device_metrics). log_changes: also append those keys to rollup_log for the
    rollup worker, in the same statement (no second round trip with the keys as arrays: ~2 ms per batch of
    2,000 keys). An insert without a conflict target: concurrent writers and the worker never wait on it."""
    with conn.cursor() as cursor:
        cursor.execute(
            "WITH inserted AS ("
            " INSERT INTO readings (device_id, metric_id, ts, value, consumption, account_id, gateway_id, received_at) "
            + (GUESSED_ROWS if GUESS_CONSUMPTION else PLAIN_ROWS) +
            " ON CONFLICT (device_id, metric_id, ts) DO NOTHING"
            " RETURNING device_id, metric_id, ts),"
            " changed AS (SELECT device_id, metric_id, min(ts) AS earliest, count(*) AS inserted FROM inserted"
            " GROUP BY 1, 2)"
            + (", logged AS (INSERT INTO rollup_log (device_id, metric_id, from_ts)"
               " SELECT device_id, metric_id, earliest FROM changed)" if log_changes else "") +
            " SELECT device_id, metric_id, earliest, inserted FROM changed"
        )
        return [ChangedKey(*row) for row in cursor.fetchall()]


def ensure_device_metrics(conn: psycopg.Connection, keys: Sequence[tuple[int, int]]) -> None:
    """Give each (device, metric) its meter settings from the catalogue, unless it has them already.

    Called with the keys that got new readings (a key with a stored reading got them with its first)."""
    if not keys:
        return
    conn.execute(
        "INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)"
        " SELECT k.d, k.m, m.meter_kind, m.unit FROM unnest(%s::bigint[], %s::smallint[]) AS k(d, m)"
        " JOIN metrics m ON m.id = k.m"
        " WHERE NOT EXISTS (SELECT 1 FROM device_metrics x WHERE x.device_id = k.d AND x.metric_id = k.m)"
        " ON CONFLICT (device_id, metric_id) DO NOTHING",
        ([key[0] for key in keys], [key[1] for key in keys]),
    )


def analyze_tables(conn: psycopg.Connection) -> None:
    """Refresh planner statistics during a bulk load (autovacuum may not have seen the tables yet)."""
    conn.execute("ANALYZE readings, consumption_hourly, consumption_daily, consumption_monthly, fleet_hourly,"
                 " fleet_daily, fleet_monthly, device_metrics")
    conn.commit()


class PendingKey(NamedTuple):
    """A key the rollup worker took from the log: merge from `from_ts` on; logged since `queued_at`."""

    device_id: int
    metric_id: int
    from_ts: datetime
    queued_at: datetime


def take_logged_keys(conn: psycopg.Connection, limit: int) -> list[PendingKey]:
    """Delete up to `limit` log rows and return them folded, one per key (earliest from, earliest queued),
    in key order. Inside the pass's transaction: they come back if the merge fails."""
    rows = conn.execute(
        "WITH taken AS (DELETE FROM rollup_log WHERE ctid = ANY(ARRAY(SELECT ctid FROM rollup_log LIMIT %s))"
        " RETURNING device_id, metric_id, from_ts, queued_at)"
        " SELECT device_id, metric_id, min(from_ts), min(queued_at) FROM taken GROUP BY 1, 2 ORDER BY 1, 2",
        (limit,),
    ).fetchall()
    return [PendingKey(*row) for row in rows]


def try_rollup_lock(conn: psycopg.Connection) -> bool:
    """One rollup pass at a time across processes (a session lock: it spans the claim and the merge)."""
    return conn.execute("SELECT pg_try_advisory_lock(%s)", (ROLLUP_LOCK_KEY,)).fetchone()[0]


def release_rollup_lock(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (ROLLUP_LOCK_KEY,))


def refresh_rollups(conn: psycopg.Connection, keys: Sequence[ChangedKey | PendingKey], timezone: str) -> None:
    if not keys:
        return
    devices, metrics, starts = [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]
    conn.execute(
        "SELECT tds_refresh_rollups(%s::bigint[], %s::smallint[], %s::timestamptz[], %s)",
        (list(devices), list(metrics), list(starts), timezone),
    )


def update_gateways(conn: psycopg.Connection, seen: Sequence[GatewaySeen], wait: bool = False) -> set[int]:
    """Last received time, last seq and new gaps of each gateway in the batch, in one statement; returns the
    ids written. Rows another transaction holds (another writer's batch on the same gateways, the presence
    recorder) are skipped unless `wait`: the caller carries them to its next batch. Waiting for them made
    concurrent writers take turns (Lock:transactionid, bench/RESULTS.md); an executemany was one round
    trip per gateway (8 ms per 100)."""
    if not seen:
        return set()
    ordered = sorted(seen, key=lambda g: g.gateway_id)
    ids = [g.gateway_id for g in ordered]
    rows = conn.execute(
        "WITH locked AS MATERIALIZED (SELECT id FROM gateways WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
        + ("" if wait else " SKIP LOCKED") + ")"
        " UPDATE gateways g SET last_seen_at = greatest(g.last_seen_at, u.seen), last_seq = coalesce(u.seq, g.last_seq),"
        " seq_gaps = g.seq_gaps + u.gaps"
        " FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::bigint[]) AS u(id, seen, seq, gaps)"
        " WHERE g.id = u.id AND g.id IN (SELECT id FROM locked) RETURNING g.id",
        (ids, ids, [g.last_seen for g in ordered], [g.last_seq for g in ordered], [g.new_gaps for g in ordered]),
    ).fetchall()
    return {row[0] for row in rows}


INSERT_REJECTED = (
    "INSERT INTO rejected_messages (received_at, topic, reason, detail, account_slug, gateway_serial,"
    " readings_rejected, readings_accepted, payload_size, payload_excerpt)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def rejected_values(r: RejectedRow) -> tuple:
    """The INSERT_REJECTED parameters of one row, cut to the column limits."""
    return (r.received_at, r.topic[:512], r.reason, r.detail[:2000], r.account_slug, r.gateway_serial,
            r.readings_rejected, r.readings_accepted, r.payload_size if r.payload_size is not None else len(r.payload),
            r.payload[: RejectedRow.EXCERPT_BYTES])


def insert_rejected(conn: psycopg.Connection, rejected: Sequence[RejectedRow]) -> None:
    if not rejected:  # an executemany of nothing still costs a round trip (its pipeline's Sync)
        return
    conn.cursor().executemany(INSERT_REJECTED, [rejected_values(r) for r in rejected])


def upsert_ingest_minutes(conn: psycopg.Connection, process: str, minutes: Sequence) -> None:
    """Add per-minute figures (ingest.stats.Minute) of this process; a minute flushed twice adds up."""
    conn.cursor().executemany(
        "INSERT INTO ingest_minutes (minute, process, received, messages, acknowledged, readings_stored,"
        " readings_duplicate, rejected, batches, commit_ms_sum, commit_ms_max, batch_readings_max,"
        " queue_depth_max, seq_gaps, slowest_gateways)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (minute, process) DO UPDATE SET received = ingest_minutes.received + excluded.received,"
        " messages = ingest_minutes.messages + excluded.messages,"
        " acknowledged = ingest_minutes.acknowledged + excluded.acknowledged,"
        " readings_stored = ingest_minutes.readings_stored + excluded.readings_stored,"
        " readings_duplicate = ingest_minutes.readings_duplicate + excluded.readings_duplicate,"
        " rejected = ingest_minutes.rejected + excluded.rejected, batches = ingest_minutes.batches + excluded.batches,"
        " commit_ms_sum = ingest_minutes.commit_ms_sum + excluded.commit_ms_sum,"
        " commit_ms_max = greatest(ingest_minutes.commit_ms_max, excluded.commit_ms_max),"
        " batch_readings_max = greatest(ingest_minutes.batch_readings_max, excluded.batch_readings_max),"
        " queue_depth_max = greatest(ingest_minutes.queue_depth_max, excluded.queue_depth_max),"
        " seq_gaps = ingest_minutes.seq_gaps + excluded.seq_gaps,"
        " slowest_gateways = ingest_minutes.slowest_gateways || excluded.slowest_gateways",
        [(m.minute, process, m.received, m.messages, m.acknowledged, m.readings_stored, m.readings_duplicate,
          m.rejected, m.batches, m.commit_ms_sum, m.commit_ms_max, m.batch_readings_max, m.queue_depth_max,
          m.seq_gaps, Jsonb(m.slowest())) for m in minutes],
    )
