-- 040_burst_source: a rejection burst is keyed by its source, the topic's (account, serial), not by the
-- serial alone: one account's topic naming another account's serial must neither merge into nor count
-- towards that account's burst (security finding 3). The topic's account slug is kept on the event
-- because an unknown account has no accounts row to point at.
-- Frozen once applied: change the schema with a new numbered file.
ALTER TABLE fleet_events ADD COLUMN account_slug text; -- rejected bursts: the topic's account, as sent

UPDATE fleet_events e SET account_slug = a.slug FROM accounts a
 WHERE e.kind = 'rejected_burst' AND a.id = e.account_id;

DROP INDEX IF EXISTS fleet_events_serial_idx;
CREATE INDEX fleet_events_burst_source_idx ON fleet_events (gateway_serial, account_slug, last_at DESC)
 WHERE kind = 'rejected_burst';
