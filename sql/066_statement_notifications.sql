-- 066: statement e-mails go through the alarms' notification outbox (sql/060_alarms.sql), so a link to a
-- new monthly statement (sql/055_statements.sql) survives a restart and is retried like an alarm.
-- Numbered after 060 because it alters the outbox 060 creates. Frozen once applied.
ALTER TABLE notification_outbox ADD COLUMN statement_id bigint REFERENCES statements(id) ON DELETE CASCADE;
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_event_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_event_check
    CHECK (event IN ('raised', 'cleared', 'acknowledged', 'renotify', 'test', 'statement'));
-- One e-mail per channel and statement, even when two processes enqueue it.
CREATE UNIQUE INDEX notification_outbox_statement_idx ON notification_outbox (channel_id, statement_id)
    WHERE statement_id IS NOT NULL;
