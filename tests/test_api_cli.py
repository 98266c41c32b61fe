"""`python -m tds_dash tokens|gateways|devices …` through click's CliRunner against a real PostgreSQL,
bad inputs included; and how a command finds the embedded database (the running demo's, or its own)."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import simulator
from tds_dash.__main__ import cli
from tests.conftest import ensure_test_user

SAMPLES = Path(__file__).parent.parent / "docs" / "samples"


@pytest.fixture
def run(database, monkeypatch):
    """run(*args) -> click Result, with DATABASE_URL pointing at this test's database."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1),
                              {"acme": "Acme", "globex": "Globex"})
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("MQTT_URL", "mqtt://127.0.0.1:1")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_cli001_tokens_create_prints_the_secret_once_and_it_works(run, database):
    ensure_test_user(database.engine(), "cli-viewer", "viewer", ("acme",))
    result = run("tokens", "create", "cli-viewer", "--name", "nightly")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("tds_") and database.scalar(
        "SELECT name FROM api_tokens WHERE prefix = %s", (secret[:10],)) == "nightly"
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity = 'token' AND action = 'create'") == 1
    missing = run("tokens", "create", "nobody")
    assert missing.exit_code == 1 and "no active user 'nobody'" in missing.output
    assert "1-64 characters" in run("tokens", "create", "cli-viewer", "--name", "x" * 65).output


def test_cli002_gateways_create_list_and_refusals(run, database):
    created = run("gateways", "create", "GW-CLI-1", "--account", "acme", "--name", "From the shell")
    assert created.exit_code == 0 and "GW-CLI-1 saved" in created.output
    listed = run("gateways", "list", "--account", "acme")
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["serial", "GW-0101", "GW-CLI-1"]
    again = run("gateways", "create", "GW-CLI-1", "--account", "acme", "--name", "Twice", "--timeout", "5")
    assert again.exit_code == 1
    assert "serial: A gateway with this serial already exists." in again.output
    assert "inactivity_timeout_s: Enter a value between 10 and 86,400." in again.output
    assert "account: Choose an option" in run("gateways", "create", "GW-CLI-2", "--account", "nope",
                                              "--name", "x").output
    ensure_test_user(database.engine(), "cli-op", "operator", ("acme",))
    foreign = run("gateways", "create", "GW-CLI-3", "--account", "globex", "--name", "x", "--as", "cli-op")
    assert foreign.exit_code == 1 and "account: Choose an option" in foreign.output
    ensure_test_user(database.engine(), "cli-view", "viewer", ("acme",))
    refused = run("gateways", "create", "GW-CLI-4", "--account", "acme", "--name", "x", "--as", "cli-view")
    assert refused.exit_code == 1 and "role does not allow" in refused.output
    assert [line.split("\t")[0] for line in run("gateways", "list", "--as", "cli-op").stdout.splitlines()] == [
        "serial", "GW-0101", "GW-CLI-1"]
    audit = database.query("SELECT username, action FROM audit_log WHERE entity = 'gateway'")
    assert audit == [("cli", "create")]


def test_cli003_imports_from_the_sample_files_and_bad_files(run, database, tmp_path):
    unknown = run("gateways", "import", str(SAMPLES / "gateways.csv"))
    assert unknown.exit_code == 1 and "line 2, account: Choose an option from the list." in unknown.output
    database.execute("INSERT INTO accounts (slug, name) VALUES ('acme-energia', 'Acme Energia')")
    dry = run("gateways", "import", str(SAMPLES / "gateways.csv"), "--dry-run")
    assert dry.exit_code == 0 and "would create 2 gateways" in dry.output
    assert database.scalar("SELECT count(*) FROM gateways") == 2
    done = run("gateways", "import", str(SAMPLES / "gateways.csv"))
    assert done.exit_code == 0, done.output
    devices = run("devices", "import", str(SAMPLES / "devices.csv"))
    assert devices.exit_code == 0, devices.output
    count = len((SAMPLES / "devices.csv").read_text().strip().splitlines()) - 1
    assert f"created {count} devices" in devices.output
    listed = run("devices", "list", "--gateway", "GW-9001")
    assert len(listed.stdout.strip().splitlines()) > 1
    bad = tmp_path / "bad.csv"
    bad.write_text("gateway;code;name\nGW-9001;MED-001;Again\nGW-0000;X;Y\n", encoding="utf-8")
    refused = run("devices", "import", str(bad))
    assert refused.exit_code == 1 and "2 problem(s)" in refused.output
    assert "line 2, code: This gateway already has a device with this code." in refused.output
    assert "line 3, gateway: Choose an option from the list." in refused.output
    bad.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in run("devices", "import", str(bad)).output
    assert run("devices", "import", str(tmp_path / "missing.csv")).exit_code == 2


def test_cli004_commands_reach_the_running_demo_database_or_start_their_own(tmp_path, monkeypatch):
    from tds_dash.background import database as command_db
    from tds_dash.background.embedded import EmbeddedPostgres, address_path

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    for name in ("DATABASE_URL", "MQTT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TDS_DATA_DIR", str(data_dir))
    runner = CliRunner()
    first = runner.invoke(cli, ["gateways", "list"], catch_exceptions=False)  # nothing runs: it starts its own
    assert first.exit_code == 0 and first.stdout.splitlines() == ["serial\taccount_slug\tstatus\tdevices\tname"]
    assert not address_path(data_dir).exists() and not (data_dir / "postgres" / "postmaster.pid").exists()
    demo = EmbeddedPostgres(data_dir / "postgres", address_file_dir=data_dir)  # as `run` does
    try:
        assert command_db.running_address(data_dir) == demo.dsn

        def no_second_server(*args, **kwargs):
            raise AssertionError("a second server was started")

        monkeypatch.setattr(command_db, "EmbeddedPostgres", no_second_server)
        second = runner.invoke(cli, ["gateways", "create", "GW-DEMO-1", "--account", "x", "--name", "n"])
        assert second.exit_code == 1 and "account: Choose an option" in second.output  # it reached the database
        assert (data_dir / "postgres" / "postmaster.pid").exists()  # and left the demo's server running
    finally:
        demo.stop()
    assert not address_path(data_dir).exists()
