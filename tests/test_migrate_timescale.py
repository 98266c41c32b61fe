"""tds_dash.migrate's mechanisms for TimescaleDB files, on plain PostgreSQL: sql/timescale/ is skipped
without the extension; `-- migrate: no-transaction` and `-- migrate: parameters` directives; the
statement splitter. (The real sql/timescale/ files run on TimescaleDB in tests/test_timescale.py.)
"""
from __future__ import annotations

import psycopg
import pytest

from tds_dash.migrate import apply_migrations, ensure_timescale_policies, file_directives, split_statements

LATE_DATA_DAYS = 7

def test_tsdb030_plain_postgres_never_reads_sql_timescale(empty_database, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "timescale" / "functions").mkdir(parents=True)
    (tmp_path / "timescale" / "020_caggs.sql").write_text("SELECT this_would_fail();")
    (tmp_path / "timescale" / "functions" / "f.sql").write_text("SELECT this_would_fail_too();")

    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["001_ok.sql"]
    assert ensure_timescale_policies(empty_database.dsn, LATE_DATA_DAYS) is False


def test_tsdb031_no_transaction_and_parameters_directives(empty_database, tmp_path):
    (tmp_path / "001_concurrently.sql").write_text(
        "-- migrate: no-transaction\n-- banner: CREATE INDEX CONCURRENTLY refuses to run in a transaction\n"
        "CREATE TABLE IF NOT EXISTS notes (id int, body text);\n"
        "DO $$ BEGIN PERFORM 1; PERFORM ';'; END $$;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_id_idx ON notes (id);\n")
    hostile = "x'); DROP TABLE notes; --"
    (tmp_path / "002_zone.sql").write_text(
        "-- migrate: parameters\nINSERT INTO notes (id, body) VALUES (1, {timezone});"
        " SELECT '{{not a placeholder}}';")

    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path, timezone=hostile) == [
        "001_concurrently.sql", "002_zone.sql"]
    assert empty_database.query("SELECT id, body FROM notes") == [(1, hostile)]  # bound, not pasted
    assert empty_database.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'notes_id_idx'::regclass")


def test_tsdb032_bad_directive_placeholder_or_failing_statement_is_a_clear_error(empty_database, tmp_path):
    (tmp_path / "001_typo.sql").write_text("-- migrate: no-transactoin\nSELECT 1;")
    with pytest.raises(ValueError, match="unknown migrate directive.*no-transactoin"):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)

    (tmp_path / "001_typo.sql").write_text("-- migrate: parameters\nSELECT {time_zone};")
    with pytest.raises(ValueError, match="bad placeholder.*time_zone"):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)

    # A no-transaction file failing half-way: not recorded; what ran stays; a fixed file runs again.
    (tmp_path / "001_typo.sql").write_text(
        "-- migrate: no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\nSELECT no_such_column FROM half;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)
    assert empty_database.scalar("SELECT count(*) FROM schema_migrations") == 0
    assert empty_database.scalar("SELECT to_regclass('half') IS NOT NULL")
    (tmp_path / "001_typo.sql").write_text(
        "-- migrate: no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\nSELECT id FROM half;")
    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["001_typo.sql"]


@pytest.mark.parametrize(("text", "statements"), [
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';' AS a; SELECT 'it''s;'", ["SELECT ';' AS a", "SELECT 'it''s;'"]),
    ('SELECT 1 AS "a;b"; -- trailing; comment\n', ['SELECT 1 AS "a;b"']),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$; SELECT f();",
     ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$", "SELECT f()"]),
    ("DO $$ BEGIN PERFORM 1; END $$; /* a; block */ SELECT 2", ["DO $$ BEGIN PERFORM 1; END $$", "/* a; block */ SELECT 2"]),
    ("-- only a comment;\n", []),
    ("SELECT $1::int; SELECT 2", ["SELECT $1::int", "SELECT 2"]),
])
def test_tsdb033_split_statements_respects_quotes_dollar_quotes_and_comments(text, statements):
    assert split_statements(text) == statements


def test_tsdb034_split_statements_rejects_an_unterminated_dollar_quote():
    with pytest.raises(ValueError, match="unterminated dollar quote"):
        split_statements("DO $body$ BEGIN PERFORM 1; END")


@pytest.mark.parametrize(("text", "found"), [
    ("-- migrate: no-transaction\n-- migrate: parameters\nSELECT 1;", {"no-transaction", "parameters"}),
    ("-- migrate: no-transaction, parameters\nSELECT 1;", {"no-transaction", "parameters"}),
    ("SELECT 1;\n-- migrate: no-transaction\n", set()),  # only the leading comment block counts
    ("-- banner\n\n-- migrate: parameters\nSELECT 1;", {"parameters"}),
])
def test_tsdb035_directives_come_from_the_leading_comments(text, found):
    assert file_directives(text) == found
