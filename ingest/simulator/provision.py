"""Create the simulated fleet's accounts, gateways and devices (idempotent), and find where history ends."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ingest.db import session_scope
from ingest.simulator.fleet import SimGateway


def upsert_account(conn: Connection, slug: str, name: str) -> int:
    return conn.execute(sa.text(
        "INSERT INTO accounts (slug, name) VALUES (:slug, :name)"
        " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id"), {"slug": slug, "name": name}).scalar_one()


def upsert_gateway(conn: Connection, account_id: int, serial: str, name: str, location: str = "") -> int:
    return conn.execute(sa.text(
        "INSERT INTO gateways (account_id, serial, name, location) VALUES (:account_id, :serial, :name, :location)"
        " ON CONFLICT (serial) DO UPDATE SET name = EXCLUDED.name, location = EXCLUDED.location RETURNING id"),
        {"account_id": account_id, "serial": serial, "name": name, "location": location}).scalar_one()


def upsert_device(conn: Connection, gateway_id: int, code: str, name: str, kind: str) -> int:
    return conn.execute(sa.text(
        "INSERT INTO devices (gateway_id, account_id, code, name, kind)"
        " SELECT id, account_id, :code, :name, :kind FROM gateways WHERE id = :gateway_id"
        " ON CONFLICT (gateway_id, code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind RETURNING id"),
        {"gateway_id": gateway_id, "code": code, "name": name, "kind": kind}).scalar_one()


def latest_reading_time(conn: Connection, gateway_serials: list[str]):
    """Newest stored reading of these gateways, or None: where a resumed backfill starts."""
    return conn.execute(sa.text(
        "SELECT max(r.ts) FROM readings r JOIN gateways g ON g.id = r.gateway_id WHERE g.serial = ANY(:serials)"),
        {"serials": gateway_serials}).scalar_one()


def provision_fleet(engine: Engine, fleet: list[SimGateway], account_names: dict[str, str] | None = None) -> None:
    """Create the fleet's accounts, gateways and devices (idempotent)."""
    names = account_names or {}
    with session_scope(engine) as conn:
        account_ids = {}
        for gateway in fleet:
            if gateway.account not in account_ids:
                account_ids[gateway.account] = upsert_account(
                    conn, gateway.account, names.get(gateway.account, gateway.account))
            gateway_id = upsert_gateway(conn, account_ids[gateway.account], gateway.serial,
                                                      f"Gateway {gateway.serial}")
            for device in gateway.devices:
                name = f"{device.kind.replace('_', ' ').title()} {device.code}"
                upsert_device(conn, gateway_id, device.code, name, device.kind)
