"""One batch of envelopes turned into rows and written in one transaction (the writer's store step)."""
from __future__ import annotations

import bisect
import dataclasses
import logging
from datetime import timedelta

import psycopg

from ingest import statements
from ingest.inbox import Envelope
from ingest.payload import topic_source

log = logging.getLogger(__name__)
_new_row = tuple.__new__


@dataclasses.dataclass
class BatchResult:
    stored: int
    duplicates: int
    rejected: list[statements.RejectedRow]
    seq_gaps: int = 0
    changed: list[statements.ChangedKey] = dataclasses.field(default_factory=list)  # keys with new readings
    # Caller mode: every key written, from its earliest row, stored before or not. A backfill redone after
    # an interrupted one finds its earlier rows already stored; their rollups still have to be built.
    staged: list[statements.ChangedKey] = dataclasses.field(default_factory=list)


# Who merges a batch's new readings into the rollups:
ROLLUPS_INLINE = "inline"  # this transaction, before the commit (tests of the merge itself, tools)
ROLLUPS_DEFERRED = "deferred"  # the rollup worker, after the commit (the live writer: off the PUBACK path)
ROLLUPS_CALLER = "caller"  # the caller, once, set-based over everything it wrote (backfill)
ROLLUP_MODES = (ROLLUPS_INLINE, ROLLUPS_DEFERRED, ROLLUPS_CALLER)


class BatchStore:
    """Turns a batch of envelopes into rows and writes them in one transaction."""

    def __init__(self, timezone_name: str, late_data_days: int | None = 7, rollups: str = ROLLUPS_INLINE) -> None:
        """late_data_days=None: no late-data window (history is older than the live stream by design)."""
        if rollups not in ROLLUP_MODES:
            raise ValueError(f"rollups must be one of {ROLLUP_MODES}")
        self.timezone = timezone_name
        self.rollups = rollups
        self.late_window = timedelta(days=late_data_days) if late_data_days is not None else None
        self.metric_ids: dict[str, int] = {}
        # (device id, metric id) known to have their device_metrics row: probed once per process, not once
        # per key and batch (a fixed cost per batch that grew PostgreSQL's time per reading with the number
        # of writers, whose batches are smaller: bench/RESULTS.md). Rows are never deleted but with their device.
        self.known_keys: set[tuple[int, int]] = set()
        # Per write(): envelope id -> readings the fleet checks refused, as (reason, detail).
        self._dropped: dict[int, list[tuple[str, str]]] = {}
        self._too_late = 0  # per write(): rows the database refused as too late
        self._staged: list[statements.ChangedKey] = []  # per write(), caller mode: every key written
        # Gateway updates not written yet because another transaction held the row (update_gateways skips
        # locked rows so concurrent writers never wait for each other): merged into the next batch's.
        self.gateway_carry: dict[int, statements.GatewaySeen] = {}
        self._carry_before: dict[int, statements.GatewaySeen] = {}  # restored when a write does not commit

    def forget_cache(self) -> None:
        """After a rollback: ids learned in that transaction may not exist, its carried updates stand."""
        self.metric_ids = {}
        self.known_keys = set()
        self.gateway_carry = self._carry_before

    def flush_gateway_carry(self, conn: psycopg.Connection) -> None:
        """Write the carried gateway updates, waiting for their rows (an idle or stopping writer); the
        caller commits."""
        self._carry_before = self.gateway_carry
        statements.update_gateways(conn, list(self.gateway_carry.values()), wait=True)
        self.gateway_carry = {}

    def write(self, conn: psycopg.Connection, batch: list[Envelope]) -> BatchResult:
        rejected: list[statements.RejectedRow] = []
        self._dropped, self._too_late, self._staged = {}, 0, []
        self._carry_before = self.gateway_carry  # what stands if this write does not commit (forget_cache)
        accepted = [env for env in batch if not self._rejected_early(env, rejected)]
        serials = sorted({env.message.gateway for env in accepted})
        gateways = statements.fetch_gateways(conn, serials) if serials else {}
        ready = [env for env in accepted if not self._rejected_by_fleet(env, gateways, rejected)]
        rows, starts = self._rows(conn, ready, gateways)
        keys = self._store_rows(conn, rows, starts, ready) if rows else []  # deferred: logged with the insert
        if self.rollups == ROLLUPS_INLINE:
            statements.refresh_rollups(conn, keys, self.timezone)
        updates, new_gaps = self._gateway_updates(ready, gateways)
        updates = {**self.gateway_carry, **updates}  # carried ones are tried again, in this batch or alone
        written = statements.update_gateways(conn, list(updates.values()))
        self.gateway_carry = {g: u for g, u in updates.items() if g not in written}
        inserted = sum(key.inserted for key in keys)
        self._note_partial(ready, rejected)
        statements.insert_rejected(conn, rejected)
        return BatchResult(stored=inserted, duplicates=len(rows) - self._too_late - inserted, rejected=rejected,
                           seq_gaps=new_gaps, changed=keys, staged=self._staged)

    @staticmethod
    def _rejection_row(env: Envelope, reason: str, detail: str, rejected_count: int, accepted: int = 0):
        account, gateway = topic_source(env.topic)
        return statements.RejectedRow(env.received_at, env.topic, reason, detail, account, gateway,
                                 rejected_count, accepted, env.payload, env.payload_size)

    def _rejected_early(self, env: Envelope, rejected: list) -> bool:
        if env.rejection is None:
            return False
        rejected.append(self._rejection_row(env, env.rejection.reason, env.rejection.detail, 0))
        return True

    def _rejected_by_fleet(self, env: Envelope, gateways: dict, rejected: list) -> bool:
        msg = env.message
        gateway = gateways.get(msg.gateway)
        reason = None
        if gateway is None:
            reason, detail = "unknown_gateway", f"no gateway with serial {msg.gateway!r}"
        elif gateway.account_slug != msg.account:
            reason, detail = "account_mismatch", f"gateway {msg.gateway!r} does not belong to account {msg.account!r}"
        elif not gateway.active:
            reason, detail = "inactive_gateway", f"gateway {msg.gateway!r} is deactivated"
        if reason is None:
            return False
        rejected.append(self._rejection_row(env, reason, detail, len(msg.readings) + len(msg.problems)))
        return True

    def _rows(self, conn: psycopg.Connection, ready: list[Envelope],
              gateways: dict) -> tuple[list[statements.ReadingRow], list[int]]:
        """The batch's rows, and the index of each envelope's first row (to name a row's envelope later)."""
        if not ready:
            return [], []
        devices = statements.fetch_devices(conn, sorted({gateways[env.message.gateway].id for env in ready}))
        built = self._build_rows(ready, gateways, devices)
        if built is None:  # a metric or device seen for the first time: learn it, then build again
            self._ensure_metrics(conn, {r.metric for env in ready for r in env.message.readings})
            if self._provision_devices(conn, ready, gateways, devices):
                devices = statements.fetch_devices(conn, sorted(devices))
            built = self._build_rows(ready, gateways, devices, final=True)
        return built

    def _build_rows(self, ready: list[Envelope], gateways: dict, devices: dict,
                    final: bool = False) -> tuple[list[statements.ReadingRow], list[int]] | None:
        """One pass over the readings, dropping those of inactive devices and of unknown ones the account
        does not provision; None when one names a metric or a device to learn first (unless final)."""
        self._dropped = {}  # this pass's drops only: a pass cut short is done again in full
        rows: list[statements.ReadingRow] = []
        starts: list[int] = []
        row_type, metric_ids = statements.ReadingRow, self.metric_ids
        for env in ready:
            starts.append(len(rows))
            gateway = gateways[env.message.gateway]
            codes, account_id, gateway_id = devices[gateway.id], gateway.account_id, gateway.id
            received_at = env.received_at
            for r in env.message.readings:
                found, metric_id = codes.get(r.device), metric_ids.get(r.metric)
                if found is not None and found[1] and metric_id is not None:
                    # tuple.__new__ skips NamedTuple's Python-level __new__ (~1 µs per reading).
                    rows.append(_new_row(row_type, (found[0], metric_id, r.ts, r.value, account_id, gateway_id,
                                                    received_at, len(rows))))
                elif not final and (metric_id is None or (found is None and gateway.auto_provision)):
                    return None
                else:
                    self._drop_unusable(env, gateway, r.device, found)
        return rows, starts

    def _provision_devices(self, conn: psycopg.Connection, ready: list[Envelope], gateways: dict,
                           devices: dict) -> bool:
        """Create devices first seen in traffic, unless the account turned auto-provisioning off."""
        missing = {(gateway.id, gateway.account_id, r.device)
                   for env in ready for gateway in (gateways[env.message.gateway],) if gateway.auto_provision
                   for r in env.message.readings if r.device not in devices[gateway.id]}
        if missing:
            statements.create_devices(conn, sorted(missing))
        return bool(missing)

    def _drop_unusable(self, env: Envelope, gateway, device: str, found: tuple[int, bool] | None) -> None:
        if found is None:
            self._drop(env, "unknown_device", f"device {device!r} is not registered and auto-provisioning"
                                              f" is off for account {gateway.account_slug!r}")
        else:
            self._drop(env, "inactive_device", f"device {device!r} is deactivated")

    def _store_rows(self, conn: psycopg.Connection, rows: list[statements.ReadingRow], starts: list[int],
                    ready: list[Envelope]) -> list[statements.ChangedKey]:
        """Stage, refuse what is too late (readings older than the late-data window before their key's
        newest stored reading; a backlog uploaded in order after days offline is newer, so it passes),
        then insert what is new."""
        statements.stage_readings(conn, rows)
        if self.rollups == ROLLUPS_CALLER:  # every key written, stored before or not: the caller builds them
            self._staged = statements.staged_keys(conn)
        too_late = statements.unstage_too_late(conn, self.late_window) if self.late_window is not None else []
        self._too_late = len(too_late)
        for refused in too_late:
            row = rows[refused.position]
            env = ready[bisect.bisect_right(starts, refused.position) - 1]
            self._drop(env, "too_late", f"{row.ts.isoformat()} is more than {self.late_window.days} days"
                                        f" before the newest stored reading {refused.newest.isoformat()}")
        keys = statements.insert_staged_readings(conn, log_changes=self.rollups == ROLLUPS_DEFERRED)
        known = self.known_keys
        new = [(key.device_id, key.metric_id) for key in keys if (key.device_id, key.metric_id) not in known]
        statements.ensure_device_metrics(conn, new)
        known.update(new)  # forgotten with the rest if this transaction does not commit (forget_cache)
        return keys

    def _drop(self, env: Envelope, reason: str, detail: str) -> None:
        self._dropped.setdefault(id(env), []).append((reason, detail))

    def _ensure_metrics(self, conn: psycopg.Connection, names: set[str]) -> None:
        if names - self.metric_ids.keys():
            self.metric_ids = statements.fetch_metrics(conn)
        unknown = names - self.metric_ids.keys()
        if unknown:
            statements.create_metrics(conn, sorted(unknown))
            self.metric_ids = statements.fetch_metrics(conn)

    def _gateway_updates(self, ready: list[Envelope],
                         gateways: dict) -> tuple[dict[int, statements.GatewaySeen], int]:
        """Per gateway of the batch, what to write (with what was carried for it); and the batch's new gaps."""
        updates: dict[int, list] = {}
        new_gaps = 0
        for env in ready:
            gateway = gateways[env.message.gateway]
            entry = updates.get(gateway.id)
            if entry is None:
                carried = self.gateway_carry.get(gateway.id)
                # A carried last_seq is this writer's own, newer than the row it could not write.
                entry = updates[gateway.id] = ([carried.last_seen, carried.last_seq, carried.new_gaps] if carried
                                               else [env.received_at, gateway.last_seq, 0])
            entry[0] = max(entry[0], env.received_at)
            entry[1], gaps = next_sequence(entry[1], env.message.seq)
            entry[2] += gaps
            new_gaps += gaps
        return {gateway_id: statements.GatewaySeen(gateway_id, seen, seq, gaps)
                for gateway_id, (seen, seq, gaps) in updates.items()}, new_gaps

    def _note_partial(self, ready: list[Envelope], rejected: list) -> None:
        """One rejected_messages row per message that lost some readings; the others were stored."""
        for env in ready:
            problems = [(f"readings[{p.index}] {p.reason}", p.detail, p.reason) for p in env.message.problems]
            problems += [(reason, detail, reason) for reason, detail in self._dropped.get(id(env), [])]
            if not problems:
                continue
            detail = "; ".join(f"{where}: {text}" for where, text, _ in problems[:20])
            dropped = len(problems) - len(env.message.problems)
            rejected.append(self._rejection_row(env, problems[0][2], detail, len(problems),
                                                len(env.message.readings) - dropped))


MAX_PLAUSIBLE_GAP = 1_000_000  # a bigger jump is a gateway resetting its counter, not lost messages


def next_sequence(last: int | None, seq: int | None) -> tuple[int | None, int]:
    """(new last seq, messages missing). A lower seq is a redelivery unless far lower (a gateway restart)."""
    if seq is None:
        return last, 0
    if last is None or seq > last:
        gap = (seq - last - 1) if last is not None else 0
        return seq, gap if gap <= MAX_PLAUSIBLE_GAP else 0
    if seq == 0 or last - seq > 1000:
        return seq, 0
    return last, 0
