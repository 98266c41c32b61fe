"""Writes and reads of the fleet itself: accounts, gateways, devices."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


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
