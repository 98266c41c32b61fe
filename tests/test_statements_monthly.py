"""Stored monthly statements (issue 14): the job, the content (totals equal /api/v1/cost, gaps as gaps),
regeneration, scoping in the API and on the page, and the e-mail with a link — against a real PostgreSQL
and a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdf
import pytest

from tds_dash.alarms import sender
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.statements import jobs, service
from tds_dash.tariffs.money import format_brl, to_centavos
from tests.alarm_tools import SmtpServer
from tests.explorer_data import api_token
from tests.test_tariffs_db import METRIC, Fleet, at, sample_usage

ZONE = ZoneInfo("America/Sao_Paulo")
NOW = at(date(2026, 12, 1)) + timedelta(minutes=10)  # the job's fake "now": 00:10 local on the 1st
GAP_DAY = date(2026, 11, 17)  # no reading at all on this day, for every device


def without_gap_day(usage):
    return [u for u in usage if u.hour.astimezone(ZONE).date() != GAP_DAY]


@pytest.fixture
def fleet(database) -> Fleet:
    fleet = Fleet(database)
    fleet.put(fleet.acme, without_gap_day(sample_usage(fleet.devices["acme"])))
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.tariff(fleet.acme)
    fleet.tariff(fleet.globex)
    return fleet


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def statement_count(fleet, account_id: int | None = None) -> int:
    return fleet.database.scalar("SELECT count(*) FROM statements WHERE superseded_at IS NULL"
                                 " AND (%s::bigint IS NULL OR account_id = %s)", (account_id, account_id))


def test_stj001_job_on_the_first_writes_one_statement_per_account_and_a_rerun_writes_none(fleet):
    first = jobs.write_monthly(fleet.engine, NOW, ZONE)
    again = jobs.write_monthly(fleet.engine, NOW + timedelta(hours=5), ZONE)  # a restart later that day
    rows = fleet.database.query("SELECT account_id, period, generated_by, reason FROM statements ORDER BY account_id")
    assert first["written"] == 2 and again == {"written": 0, "exists": 2, "busy": 0, "failed": 0}
    assert rows == [(fleet.acme, date(2026, 11, 1), "scheduler", "scheduled"),
                    (fleet.globex, date(2026, 11, 1), "scheduler", "scheduled")]


def test_stj002_a_second_process_holding_the_account_lock_makes_the_job_skip_it(fleet):
    import psycopg

    with psycopg.connect(fleet.database.dsn) as other:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (jobs.LOCK_KEY, fleet.acme))
        busy = jobs.write_monthly(fleet.engine, NOW, ZONE)
    after = jobs.write_monthly(fleet.engine, NOW, ZONE)
    assert busy["busy"] == 1 and busy["written"] == 1 and after["written"] == 1
    assert statement_count(fleet, fleet.acme) == 1 and statement_count(fleet) == 2


def periods_of(fleet, account_id: int) -> list[date]:
    return [row[0] for row in fleet.database.query(
        "SELECT period FROM statements WHERE account_id = %s AND superseded_at IS NULL ORDER BY period",
        (account_id,))]


def test_stj003_the_job_catches_up_every_missing_month_with_readings_at_most_12_back(fleet):
    later = at(date(2027, 2, 1)) + timedelta(minutes=10)  # down since November: Nov and Dec have readings
    first = jobs.write_monthly(fleet.engine, later, ZONE)
    again = jobs.write_monthly(fleet.engine, later, ZONE)
    assert periods_of(fleet, fleet.acme) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert first["written"] == 6 and again == {"written": 0, "exists": 2, "busy": 0, "failed": 0}
    much_later = at(date(2028, 1, 1)) + timedelta(minutes=10)  # Nov 2026 is 13 months before Dec 2027
    fleet.database.execute("DELETE FROM statements")
    jobs.write_monthly(fleet.engine, much_later, ZONE)
    assert periods_of(fleet, fleet.globex) == [date(2026, 12, 1), date(2027, 12, 1)]


def test_stc001_pdf_and_csv_state_the_totals_of_the_cost_api_and_gaps_as_gaps(app, client, fleet):
    jobs.write_monthly(fleet.engine, NOW, ZONE)
    viewer = api_token(app, "acme-viewer", "viewer", ("acme",))
    cost = client.get("/api/v1/cost", headers=viewer, query_string={
        "account": "acme", "metric": METRIC, "from": "2026-11-01T00:00:00-03:00", "to": "2026-12-01T00:00:00-03:00",
        "granularity": "month"}).json
    total = to_centavos(Decimal(cost["total"]))
    listed = client.get("/api/v1/statements", headers=viewer, query_string={"account": "acme"}).json["data"]
    assert [s["account"] for s in listed] == ["acme"] and listed[0]["total"] == format(total, "f")
    statement_id = listed[0]["id"]
    rows = csv_rows(client.get(f"/api/v1/statements/{statement_id}.csv", headers=viewer).get_data(as_text=True))
    metric_total = next(r for r in rows if r["section"] == "metric_total")
    assert Decimal(metric_total["amount"]) == total
    assert Decimal(metric_total["quantity"]) == Decimal(cost["buckets"][0]["quantity"])
    assert next(r for r in rows if r["section"] == "account_total")["amount"] == format(total, "f")
    devices = [r for r in rows if r["section"] == "device_total"]
    assert sum(Decimal(r["amount"]) for r in devices) == total and len(devices) == 2
    gap_day = next(r for r in rows if r["section"] == "daily" and r["from"] == GAP_DAY.isoformat())
    assert gap_day["quantity"] == "" and gap_day["note"] == "gap"  # a gap, not a zero
    gaps = [r for r in rows if r["section"] == "gap"]
    assert any(r["from"] <= at(GAP_DAY).isoformat() and r["to"] >= at(GAP_DAY + timedelta(days=1)).isoformat()
               for r in gaps)
    assert all(r["quantity"] == "" for r in gaps)
    versions = [r for r in rows if r["section"] == "tariff_version"]
    assert versions and all(r["note"].startswith("version_id=") for r in versions)
    text = pdf_text(client.get(f"/api/v1/statements/{statement_id}.pdf", headers=viewer).data)
    assert format_brl(total, "pt-BR") in text and "Total da conta" in text and "sem leituras" in text
    assert "Demonstrativo mensal 11/2026" in text and "Versão de tarifa" in text
    account_name = fleet.database.scalar("SELECT name FROM accounts WHERE id = %s", (fleet.acme,))
    assert account_name in text and "Gerado em: 01/12/2026 00:10" in text and "Mês anterior" in text
    assert "Mesmo mês do ano anterior (11/2025)" in text and "em vigor desde 16/11/2026" in text
    english = pdf_text(client.get(f"/api/v1/statements/{statement_id}.pdf", headers=viewer,
                                  query_string={"lang": "en"}).data)
    assert "Account total" in english and format_brl(total, "en") in english and "without readings" in english


def test_stc002_corrections_of_the_month_are_listed(fleet):
    device = fleet.devices["acme"][0]
    fleet.database.execute(
        "INSERT INTO meter_corrections (device_id, metric_id, ts, kind, previous_value, value, consumption)"
        " VALUES (%s, %s, %s, 'reset', 1500, 3, 3), (%s, %s, %s, 'glitch', 900, 10, 0)",
        (device, fleet.metric_id, at(date(2026, 11, 9), 14), device, fleet.metric_id, at(date(2026, 10, 9), 14)))
    with session_scope(fleet.engine) as conn:
        written = service.generate(conn, ALL_ACCOUNTS, fleet.acme, date(2026, 11, 1), ZONE, NOW, "test")
        body = service.file_of(conn, ALL_ACCOUNTS, written, "csv").decode()
    corrections = [r for r in csv_rows(body) if r["section"] == "correction"]
    assert [(r["item"], r["note"]) for r in corrections] == [("reset", "1500.0 -> 3.0")]  # October's is not listed


def test_stm010_account_recipients_get_an_email_with_a_link_not_an_attachment(fleet):
    fleet.database.execute(
        "INSERT INTO notification_channels (account_id, type, name, target, language) VALUES"
        " (%s, 'email', 'finance', 'finance@acme.test', 'pt-BR'), (%s, 'email', 'ops', 'ops@globex.test', 'en'),"
        " (NULL, 'email', 'admins', 'admins@tds.test', 'en')", (fleet.acme, fleet.globex))
    server = SmtpServer().start()
    try:
        jobs.write_monthly(fleet.engine, NOW, ZONE)
        jobs.write_monthly(fleet.engine, NOW, ZONE)  # a rerun queues nothing more
        mailer = sender.Mailer(server.url, "statements@tds.test", "https://tds.example", ZONE)
        counts = sender.send_due(fleet.engine, mailer, NOW + timedelta(seconds=5))
    finally:
        server.stop()
    ids = dict(fleet.database.query("SELECT account_id, id FROM statements"))
    by_recipient = {m["To"]: m for m in server.messages}
    assert counts == {"sent": 2, "failed": 0} and set(by_recipient) == {"finance@acme.test", "ops@globex.test"}
    acme = by_recipient["finance@acme.test"]
    assert "11/2026" in acme["Subject"] and not acme.is_multipart()  # a plain text body, no attachment
    assert f"https://tds.example/reports?statement={ids[fleet.acme]}" in acme.get_content()
    assert f"reports?statement={ids[fleet.globex]}" in by_recipient["ops@globex.test"].get_content()
    assert "statement" in by_recipient["ops@globex.test"]["Subject"].lower()


def test_stm011_regenerate_after_a_tariff_change_supersedes_and_notes_the_version(app, client, fleet):
    import dataclasses

    from tds_dash.tariffs import service as tariffs
    from tests.tariff_reference import V2
    from tests.test_tariffs_db import ADMIN, version_input

    jobs.write_monthly(fleet.engine, NOW, ZONE)
    operator = api_token(app, "acme-operator", "operator", ("acme",))
    viewer = api_token(app, "acme-viewer", "viewer", ("acme",))
    old = client.get("/api/v1/statements", headers=operator).json["data"][0]
    with session_scope(fleet.engine) as conn:  # a retroactive version from 25/11 with dearer energy
        tariffs.save_version(conn, ALL_ACCOUNTS, ADMIN, fleet.acme, METRIC, version_input(
            dataclasses.replace(V2, valid_from=date(2026, 11, 25), periods=V2.periods[:2] + (
                dataclasses.replace(V2.periods[2], price=Decimal("0.95")),))))
    assert client.post(f"/api/v1/statements/{old['id']}/regenerate", headers=viewer).status_code == 403
    answer = client.post(f"/api/v1/statements/{old['id']}/regenerate", headers=operator)
    new = answer.json
    assert answer.status_code == 201 and new["reason"] == "regenerated" and new["generated_by"] == "acme-operator"
    assert [v["valid_from"] for v in new["tariff_versions"]] == ["2026-11-01", "2026-11-16", "2026-11-25"]
    assert [v["valid_from"] for v in old["tariff_versions"]] == ["2026-11-01", "2026-11-16"]
    assert Decimal(new["total"]) > Decimal(old["total"])
    listed = client.get("/api/v1/statements", headers=viewer).json["data"]
    history = client.get("/api/v1/statements", headers=viewer, query_string={"superseded": "true"}).json["data"]
    assert [s["id"] for s in listed] == [new["id"]]
    assert {s["id"]: s["superseded_by"] for s in history} == {new["id"]: None, old["id"]: new["id"]}
    text = pdf_text(client.get(f"/api/v1/statements/{new['id']}.pdf", headers=viewer).data)
    assert "em vigor desde 25/11/2026" in text and format_brl(Decimal(new["total"])) in text
    assert client.get(f"/api/v1/statements/{old['id']}.pdf", headers=viewer).status_code == 200  # kept as sent


def test_stm012_a_viewer_cannot_list_download_or_regenerate_another_accounts_statement(app, client, fleet):
    jobs.write_monthly(fleet.engine, NOW, ZONE)
    ids = dict(fleet.database.query("SELECT account_id, id FROM statements"))
    globex = api_token(app, "globex-viewer", "viewer", ("globex",))
    globex_operator = api_token(app, "globex-operator", "operator", ("globex",))
    mine = client.get("/api/v1/statements", headers=globex).json["data"]
    assert [s["account"] for s in mine] == ["globex"]
    assert client.get("/api/v1/statements", headers=globex, query_string={"account": "acme"}).status_code == 404
    for suffix in ("", ".pdf", ".csv"):
        assert client.get(f"/api/v1/statements/{ids[fleet.acme]}{suffix}", headers=globex).status_code == 404
    assert client.get(f"/api/v1/statements/{ids[fleet.globex]}.pdf", headers=globex).status_code == 200
    refused = client.post(f"/api/v1/statements/{ids[fleet.acme]}/regenerate", headers=globex_operator)
    assert refused.status_code == 404 and statement_count(fleet) == 2
    bad = client.post("/api/v1/statements", headers=globex_operator, json={"account": "acme", "month": "2026-11"})
    assert bad.status_code == 422 and bad.json["error"]["parameter"] == "account"
    month = client.post("/api/v1/statements", headers=globex_operator, json={"account": "globex", "month": "2026-13"})
    assert month.status_code == 422 and month.json["error"]["parameter"] == "month"


def _page_module():
    import sys

    import dash

    return sys.modules[next(name for name in dash.page_registry if name.endswith("pages.reports"))]


def test_rpg001_page_lists_only_the_viewers_accounts_and_offers_regenerate_to_operators(app, fleet):
    from tds_dash.statements import view
    from tests.test_alarms_page import signed_in

    jobs.write_monthly(fleet.engine, NOW, ZONE)
    ids = dict(fleet.database.query("SELECT account_id, id FROM statements"))
    names = dict(fleet.database.query("SELECT id, name FROM accounts"))
    api_token(app, "globex-viewer", "viewer", ("globex",))
    api_token(app, "acme-operator", "operator", ("acme",))
    module = _page_module()
    context = signed_in(app, "globex-viewer")
    try:
        layout = str(module.layout(statement=str(ids[fleet.globex])))
        table = str(module.update_table(False, 0, ids[fleet.globex]))
        refused = str(view.regenerate(ids[fleet.acme], "pt-BR"))
    finally:
        context.pop()
    assert "Relatórios" in layout
    assert names[fleet.globex] in table and names[fleet.acme] not in table
    assert f"/api/v1/statements/{ids[fleet.globex]}.pdf" in table and f"statements/{ids[fleet.acme]}." not in table
    assert view.REGENERATE not in table and "table-info" in table  # no button for viewers; the linked row marked
    assert "Sem permissão" in refused
    context = signed_in(app, "acme-operator")
    try:
        table = str(module.update_table(False, 0, None))
        done = str(view.regenerate(ids[fleet.acme], "pt-BR"))
        foreign = str(view.regenerate(ids[fleet.globex], "pt-BR"))
        history = str(module.update_table(True, 1, None))
    finally:
        context.pop()
    assert view.REGENERATE in table and "Demonstrativo regenerado" in done and "em vigor desde 16/11/2026" in done
    assert "não encontrado" in foreign and "substituído pelo nº" in history
    assert statement_count(fleet, fleet.globex) == 1 and statement_count(fleet, fleet.acme) == 1


def test_rpg002_signed_in_viewer_downloads_own_files_only(app, client, fleet):
    from tests.test_auth import login

    jobs.write_monthly(fleet.engine, NOW, ZONE)
    ids = dict(fleet.database.query("SELECT account_id, id FROM statements"))
    api_token(app, "globex-viewer", "viewer", ("globex",))
    assert login(client, "globex-viewer", "correct horse battery").status_code in (302, 303)
    own = client.get(f"/api/v1/statements/{ids[fleet.globex]}.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/statements/{ids[fleet.acme]}.pdf").status_code == 404
    assert client.get(f"/api/v1/statements/{ids[fleet.acme]}.csv").status_code == 404
    assert client.get("/reports?statement=1").status_code == 200  # the e-mail's link opens the page once signed in


def test_stl001_cli_generate_list_and_export(fleet, database, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from tds_dash.__main__ import cli
    from tests.conftest import ensure_test_user

    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("MQTT_URL", "mqtt://127.0.0.1:1")
    ensure_test_user(database.engine(), "cli-viewer", "viewer", ("globex",))
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)  # noqa: E731
    first = run("statements", "generate", "--account", "acme", "--month", "2026-11")
    second = run("statements", "generate", "--account", "acme", "--month", "2026-11")
    refused = run("statements", "generate", "--account", "globex", "--month", "2026-11", "--as", "cli-viewer")
    bad = run("statements", "generate", "--account", "acme", "--month", "2026-13")
    listed = run("statements", "list", "--all")
    foreign = run("statements", "list", "--as", "cli-viewer")
    assert first.exit_code == 0 and "(requested;" in first.output and "energy_kwh 2026-11-16" in first.output
    assert second.exit_code == 0 and "(regenerated;" in second.output
    assert refused.exit_code != 0 and "operators" in refused.output
    assert bad.exit_code != 0 and statement_count(fleet) == 1
    lines = [line.split("\t") for line in listed.output.strip().splitlines()]
    assert lines[0][0] == "id" and [(r[1], r[2], r[7]) for r in lines[1:]] == [("acme", "2026-11", "yes"),
                                                                               ("acme", "2026-11", "no")]
    assert foreign.output.strip().splitlines() == ["\t".join(("id", "account", "period", "generated_at",
                                                              "generated_by", "reason", "total", "current"))]
    target = tmp_path / "s.pdf"
    exported = run("statements", "export", lines[1][0], "--output", str(target), "--lang", "en")
    assert exported.exit_code == 0 and "Account total" in pdf_text(target.read_bytes())
    assert run("statements", "export", lines[1][0], "--output", str(target), "--as", "cli-viewer").exit_code != 0


def test_stj003_scheduler_catches_up_the_missed_month_at_start_and_runs_on_the_first(fleet, settings):
    from tds_dash.background.scheduler import start_scheduler
    from tests.helpers import wait_until

    later = NOW + timedelta(days=3)  # the app was down on the 1st: it starts on the 4th
    scheduler = start_scheduler(settings, clock=lambda: later)
    try:
        wait_until(lambda: statement_count(fleet) == 2, timeout=60, message="start-up run wrote November's")
        job = scheduler.get_job("statements-monthly")
        fields = {f.name: str(f) for f in job.trigger.fields}
        upcoming = job.trigger.get_next_fire_time(None, later.astimezone(ZONE))
    finally:
        scheduler.shutdown(wait=True)
    assert (fields["day"], fields["hour"], fields["minute"]) == ("1", "0", "10")
    assert upcoming.astimezone(ZONE).replace(tzinfo=None).isoformat() == "2027-01-01T00:10:00"
    periods = fleet.database.query("SELECT DISTINCT period FROM statements")
    assert periods == [(date(2026, 11, 1),)]


def test_stc003_comparison_states_the_previous_months_cost_and_no_data_a_year_before(fleet):
    november = fleet.breakdown(at(date(2026, 11, 1)), at(date(2026, 12, 1)), "month")
    with session_scope(fleet.engine) as conn:
        written = service.generate(conn, ALL_ACCOUNTS, fleet.acme, date(2026, 12, 1), ZONE,
                                   at(date(2027, 1, 1)) + timedelta(minutes=10), "test")
        rows = csv_rows(service.file_of(conn, ALL_ACCOUNTS, written, "csv").decode())
    compared = {r["item"]: r for r in rows if r["section"] == "comparison"}
    assert compared["previous"]["from"] == "2026-11-01"
    assert Decimal(compared["previous"]["amount"]) == to_centavos(november.total)
    assert Decimal(compared["previous"]["quantity"]) == november.buckets[0].quantity
    assert compared["last_year"]["from"] == "2025-12-01" and compared["last_year"]["quantity"] == ""
    assert compared["last_year"]["amount"] == "" and compared["last_year"]["note"] == "no_readings"
