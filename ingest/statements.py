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


def insert_staged_readings(conn: psycopg.Connection) -> list[ChangedKey]:
    """Keep only the staged rows not stored yet; returns the keys that got new readings (give the new ones
    their meter settings: ensure_device_metrics)."""
    with conn.cursor() as cursor:
        cursor.execute(
            "WITH inserted AS ("
            " INSERT INTO readings (device_id, metric_id, ts, value, account_id, gateway_id, received_at)"
            " SELECT device_id, metric_id, ts, value, account_id, gateway_id, received_at FROM staged_readings"
            " ON CONFLICT (device_id, metric_id, ts) DO NOTHING"
            " RETURNING device_id, metric_id, ts)"
            " SELECT device_id, metric_id, min(ts), count(*) FROM inserted GROUP BY 1, 2"
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
    """A key waiting for the rollup worker: merge from `from_ts` on; queued since `queued_at`; as of `version`."""

    device_id: int
    metric_id: int
    from_ts: datetime
    queued_at: datetime
    version: int


def queue_rollups(conn: psycopg.Connection, keys: Sequence[ChangedKey]) -> None:
    """Record changed keys for the rollup worker, in the batch's transaction (sorted: one lock order)."""
    if not keys:
        return
    ordered = sorted(keys, key=lambda k: (k.device_id, k.metric_id))
    conn.execute(
        "INSERT INTO rollup_pending (device_id, metric_id, from_ts, next_from)"
        " SELECT d, m, f, f FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS k(d, m, f)"
        " ON CONFLICT (device_id, metric_id) DO UPDATE SET from_ts = least(rollup_pending.from_ts, EXCLUDED.from_ts),"
        " next_from = least(coalesce(rollup_pending.next_from, EXCLUDED.from_ts), EXCLUDED.from_ts),"
        " version = rollup_pending.version + 1",
        ([k.device_id for k in ordered], [k.metric_id for k in ordered], [k.earliest for k in ordered]),
    )


def claim_pending(conn: psycopg.Connection, limit: int) -> list[PendingKey]:
    """Claim up to `limit` waiting keys, oldest first, in one short statement (autocommit connection): rows a
    writer is updating right now are skipped, and a claimed row is not locked while it is merged."""
    rows = conn.execute(
        "UPDATE rollup_pending p SET next_from = NULL FROM ("
        "  SELECT device_id, metric_id FROM rollup_pending ORDER BY queued_at LIMIT %s FOR UPDATE SKIP LOCKED) c"
        " WHERE p.device_id = c.device_id AND p.metric_id = c.metric_id"
        " RETURNING p.device_id, p.metric_id, p.from_ts, p.queued_at, p.version",
        (limit,),
    ).fetchall()
    return [PendingKey(*row) for row in rows]


def finish_pass(conn: psycopg.Connection, keys: Sequence[PendingKey], claimed_at: datetime) -> int:
    """After a merge: delete the keys no writer touched since the claim; the others wait from their next_from."""
    keys = sorted(keys, key=lambda k: (k.device_id, k.metric_id))
    arrays = ([k.device_id for k in keys], [k.metric_id for k in keys], [k.version for k in keys])
    # Lock the claimed rows in the writers' order (queue_rollups sorts too): without it a pass's DELETE and a
    # writer's upsert, each holding rows the other wants, deadlocked under load (bench/latency.py).
    conn.execute(
        "SELECT 1 FROM rollup_pending p JOIN unnest(%s::bigint[], %s::smallint[]) AS c(d, m)"
        " ON p.device_id = c.d AND p.metric_id = c.m ORDER BY p.device_id, p.metric_id FOR UPDATE OF p",
        arrays[:2])
    merged = conn.execute(
        "DELETE FROM rollup_pending p USING unnest(%s::bigint[], %s::smallint[], %s::bigint[]) AS c(d, m, v)"
        " WHERE p.device_id = c.d AND p.metric_id = c.m AND p.version = c.v", arrays).rowcount
    conn.execute(
        "UPDATE rollup_pending p SET from_ts = p.next_from, queued_at = greatest(p.queued_at, %s)"
        " FROM unnest(%s::bigint[], %s::smallint[], %s::bigint[]) AS c(d, m, v)"
        " WHERE p.device_id = c.d AND p.metric_id = c.m AND p.version <> c.v AND p.next_from IS NOT NULL",
        (claimed_at, *arrays))
    return merged


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


def update_gateways(conn: psycopg.Connection, seen: Sequence[GatewaySeen]) -> None:
    """Last received time, last seq and new gaps of each gateway in the batch, in one statement (sorted:
    one row-lock order across writers; executemany was one round trip per gateway, 8 ms per 100)."""
    if not seen:
        return
    ordered = sorted(seen, key=lambda g: g.gateway_id)
    conn.execute(
        "UPDATE gateways g SET last_seen_at = greatest(g.last_seen_at, u.seen), last_seq = coalesce(u.seq, g.last_seq),"
        " seq_gaps = g.seq_gaps + u.gaps"
        " FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::bigint[]) AS u(id, seen, seq, gaps)"
        " WHERE g.id = u.id",
        ([g.gateway_id for g in ordered], [g.last_seen for g in ordered], [g.last_seq for g in ordered],
         [g.new_gaps for g in ordered]),
    )


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
