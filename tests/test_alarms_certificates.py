"""The certificate_expiring alarm rule against a real PostgreSQL: raised 30 and again 7 days before a gateway's
last valid certificate ends, cleared by a rotation; revoked ones and other accounts are not its business."""
from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tds_dash.alarms import evaluation, queries
from tds_dash.alarms.rules import RuleError, validate_rule
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.service import Actor, issue_for_gateway, revoke_gateway
from tds_dash.db import session_scope
from tests.certificates_tools import provision_fleet
from tests.helpers import settings_for

ZONE = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def fleet(database, tmp_path):
    provision_fleet(database, {"GW-A1": "acme", "GW-A2": "acme", "GW-A3": "acme", "GW-B1": "beta"})
    settings = settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"), TDS_PKI_DIR=tmp_path / "pki")
    engine, pki = database.engine(), PkiConfig.from_settings(settings)
    with session_scope(engine) as conn:
        for serial in ("GW-A1", "GW-A2", "GW-A3", "GW-B1"):
            issue_for_gateway(conn, Actor(None, "test"), serial, pki=pki)
        revoke_gateway(conn, Actor(None, "test"), "GW-A3", "lost", pki=pki)
        acme = conn.exec_driver_sql("SELECT id FROM accounts WHERE slug = 'acme'").scalar_one()
        queries.insert_rule(conn, acme, validate_rule({"kind": "certificate_expiring", "name": "Certificates"}))
    # GW-A1 and its revoked twin GW-A3 (and beta's GW-B1) end in 20 days; GW-A2 keeps its two years.
    database.execute("UPDATE gateway_certificates SET not_after = now() + interval '20 days'"
                     " WHERE gateway_id IN (SELECT id FROM gateways WHERE serial <> 'GW-A2')")
    return types.SimpleNamespace(engine=engine, pki=pki, database=database)


def _active(database) -> list[tuple]:
    return database.query("SELECT g.serial, a.subject, a.kind, a.severity FROM alarms a JOIN gateways g"
                          " ON g.id = a.gateway_id WHERE a.cleared_at IS NULL ORDER BY a.id")


def test_alce001_raised_at_30_and_again_at_7_days_then_cleared_by_rotation(fleet):
    now = datetime.now(timezone.utc)
    assert evaluation.evaluate(fleet.engine, now, ZONE)["raised"] == 1
    (serial, subject, kind, severity), = _active(fleet.database)
    assert (serial, kind, severity) == ("GW-A1", "certificate_expiring", "warning") and subject.endswith(":30d")
    assert evaluation.evaluate(fleet.engine, now + timedelta(minutes=1), ZONE)["raised"] == 0  # one per stage
    later = now + timedelta(days=14)  # 6 days left: the first alarm clears, the final one is raised
    assert evaluation.evaluate(fleet.engine, later, ZONE) == {"raised": 1, "reraised": 0, "cleared": 1,
                                                              "suppressed": 0}
    assert [row[1].rsplit(":", 1)[1] for row in _active(fleet.database)] == ["7d"]
    detail = fleet.database.scalar("SELECT detail FROM alarms WHERE cleared_at IS NULL")
    assert detail.startswith("GW-A1: certificate expires in 5 day(s)")
    expired = now + timedelta(days=25)
    evaluation.evaluate(fleet.engine, expired, ZONE)
    assert [row[1].rsplit(":", 1)[1] for row in _active(fleet.database)] == ["7d"]  # expired: still the final one
    with session_scope(fleet.engine) as conn:  # the rotation: a new certificate, the old one left to expire
        issue_for_gateway(conn, Actor(None, "test"), "GW-A1", pki=fleet.pki, now=now)
    assert evaluation.evaluate(fleet.engine, expired + timedelta(minutes=1), ZONE)["cleared"] == 1
    assert _active(fleet.database) == []


def test_alce002_rule_params_are_checked():
    rule = validate_rule({"kind": "certificate_expiring", "name": "x", "params": {"days": 60, "final_days": 14}})
    assert rule["params"] == {"days": 60, "final_days": 14}
    for params, field in (({"final_days": 30}, "params.final_days"), ({"days": 0}, "params.days"),
                          ({"days": "soon"}, "params.days"), ({"weeks": 1}, "params.weeks")):
        with pytest.raises(RuleError) as refused:
            validate_rule({"kind": "certificate_expiring", "name": "x", "params": params})
        assert refused.value.field == field
