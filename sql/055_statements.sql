-- 055_statements: the monthly client statements (issue 14), written once per account and local month
-- by the scheduler (tds_dash/statements/jobs.py) or on request, and kept: a regeneration after a tariff
-- change writes a new row and marks the old one superseded, so what was sent stays readable.
-- The PDF and CSV bytes live here rather than under TDS_DATA_DIR: each is a few tens of kB a month per
-- account, every process and host sees them without a shared disk, they are backed up with the data
-- they describe, and the row and its bytes commit together (no orphan or missing file after a crash).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE statements (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    period           date NOT NULL CHECK (extract(day FROM period) = 1), -- first local day of the month billed
    language         text NOT NULL DEFAULT 'pt-BR' CHECK (language IN ('pt-BR', 'en')), -- of the stored files
    generated_at     timestamptz NOT NULL,
    generated_by     text NOT NULL,  -- 'scheduler', or the user (or 'cli') who asked
    reason           text NOT NULL CHECK (reason IN ('scheduled', 'requested', 'regenerated')),
    tariff_versions  jsonb NOT NULL, -- [{metric, tariff, valid_from, version_id}] in force during the month
    total            numeric NOT NULL, -- the account's total in BRL, rounded to the centavo as printed
    content          jsonb NOT NULL, -- the numbers the files were drawn from: other languages render from it
    pdf              bytea NOT NULL,
    csv              text NOT NULL,
    superseded_at    timestamptz,    -- NULL: the account's current statement for this period
    superseded_by    bigint REFERENCES statements(id) ON DELETE SET NULL
);
-- One current statement per account and month, whatever the number of schedulers: a second writer's
-- INSERT … ON CONFLICT DO NOTHING is a no-op. Regeneration first sets superseded_at on the old row.
CREATE UNIQUE INDEX statements_current_idx ON statements (account_id, period) WHERE superseded_at IS NULL;
CREATE INDEX statements_account_idx ON statements (account_id, period DESC, id DESC);
