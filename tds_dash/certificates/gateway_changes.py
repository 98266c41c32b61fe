"""The broker follows the fleet: deleting a gateway revokes its certificates, (de)activating one edits the ACL.

tds_dash.fleet cannot import this package (siblings in one layer), so the app and the CLI hand
`gateway_hook(pki)` to the fleet's writes (fleet.actor.Actor.on_gateway_change), which call it inside
the transaction of the change: the CRL and ACL the broker rereads are those of the committed state, and
a delete that is refused (readings, a stale version) revokes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection

from tds_dash.certificates import store
from tds_dash.certificates.broker import SyncResult, sync_broker_files
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.pki import load_or_create_authority, utc_now
from tds_dash.certificates.service import as_actor, mark_revoked_audited

# RFC 5280's reason for a device taken out of service; the text is what the audit log and `certs list` show.
DELETED_REASON = "cessationOfOperation: gateway deleted"
RENAMED_REASON = "superseded: gateway serial changed"  # the certificates' CN is the old serial
REVOKING = {"delete": DELETED_REASON, "rename": RENAMED_REASON}
ACTIONS = ("delete", "rename", "deactivate", "activate")
log = logging.getLogger(__name__)


def gateway_changed(conn: Connection, pki: PkiConfig, action: str, serial: str, actor,
                    now: datetime | None = None) -> SyncResult | None:
    """Before a delete, or after a serial change: revoke the gateway's unrevoked certificates. Then, for a
    gateway the broker's files mention, rewrite CRL and ACL (inactive gateways get no topics) and reload.

    None when there is nothing to do (the gateway never had a certificate)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown gateway change {action!r}")
    now, actor = now or utc_now(), as_actor(actor)
    gateway = store.get_gateway(conn, serial)
    if gateway is None or not store.has_certificates(conn, gateway.id):
        return None
    authority = load_or_create_authority(pki, create=False)
    if action in REVOKING:
        for row in store.list_certificates(conn, now, gateway.id):
            if row.status != "revoked":
                mark_revoked_audited(conn, actor, row, REVOKING[action], now)
    result = sync_broker_files(conn, pki, authority, now)
    log.info("gateway %s %s: broker files rewritten; %s", serial, action, result.detail)
    return result


def gateway_hook(pki: PkiConfig) -> Callable[[Connection, str, str, tuple], None]:
    """What the fleet's writes call: hook(conn, action, serial, (user_id, username))."""
    def hook(conn: Connection, action: str, serial: str, actor: tuple) -> None:
        gateway_changed(conn, pki, action, serial, actor)
    return hook
