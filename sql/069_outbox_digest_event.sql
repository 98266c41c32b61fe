-- 069: the outbox's events are those of 066 plus 'digest' (one hourly e-mail per user, queued by
-- tds_dash/alarms/digest.py; recipients in 061). After 066 because 066 re-creates this check with its own
-- list. Frozen once applied.
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_event_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_event_check
    CHECK (event IN ('raised', 'cleared', 'acknowledged', 'renotify', 'test', 'statement', 'digest'));
