-- 065: the certificate_expiring alarm rule kind (tds_dash/alarms/conditions.py): a gateway's client
-- certificate ends within 30, then 7 days. Frozen once applied.
ALTER TABLE alarm_rules DROP CONSTRAINT alarm_rules_kind_check;
ALTER TABLE alarm_rules ADD CONSTRAINT alarm_rules_kind_check
    CHECK (kind IN ('gateway_offline', 'meter_silent', 'meter_stuck', 'consumption_above', 'night_flow', 'spike',
                    'ingest_stalled', 'certificate_expiring'));
