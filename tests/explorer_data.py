"""Test data for the explorer, device page and API tests: a small fleet written through the real ingest store."""
from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from ingest import payload as contract
from ingest import simulator
from ingest import statements as store_sql
from ingest.batch import BatchStore
from ingest.inbox import Envelope

ZONE_NAME = "America/Sao_Paulo"
FLEET = simulator.build_fleet(["acme", "globex"], 1, 3)  # GW-0101 (acme), GW-0201 (globex); MED-001, MED-002, HID-003


def write_history(database, start: datetime, end: datetime, step: timedelta, extra: list[datetime] = (),
                  fleet=FLEET) -> None:
    """The simulator's readings of `fleet` at every step in [start, end) plus at the `extra` instants, in order."""
    instants = sorted(set(simulator.backfill_instants(start, end, step)) | set(extra))
    batch_store = BatchStore(ZONE_NAME)
    with psycopg.connect(database.dsn) as conn:
        store_sql.prepare_session(conn)
        for chunk in range(0, len(instants), 200):
            batch = []
            for at in instants[chunk:chunk + 200]:
                for gateway in fleet:
                    readings = tuple(contract.Reading(r["device"], r["metric"], r["value"], at)
                                     for r in simulator.readings_at(gateway, at))
                    message = contract.TelemetryMessage(gateway.account, gateway.serial, at, None, readings, ())
                    batch.append(Envelope(gateway.topic, b"", at, message=message))
            batch_store.write(conn, batch)
            conn.commit()




def device_id(database, serial: str, code: str) -> int:
    return database.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                           " WHERE g.serial = %s AND d.code = %s", (serial, code))


def api_token(app, username: str, role: str = "admin", account_slugs: tuple[str, ...] = ()) -> dict:
    """Authorization header of a new API token of a new user (role, accounts) in the app's database."""
    from tds_dash.auth.users import create_token, create_user
    from tds_dash.db import session_scope
    from tds_dash.queries.users import get_user

    engine = app.server.extensions["tds"].engine
    user_id = create_user(engine, None, username, username, "correct horse battery", role, list(account_slugs))
    with session_scope(engine) as conn:
        user = get_user(conn, user_id)
    return {"Authorization": f"Bearer {create_token(engine, user, 'tests')}"}
