-- 041: a deleted gateway's certificates stay, revoked, so the CRL keeps listing them (issue 12).
-- With ON DELETE CASCADE (040) deleting a gateway erased its certificates, so their serial numbers
-- left the CRL: re-registering the same serial later would have made an old, revoked certificate
-- (CN = that serial) valid again. Now the rows keep their facts with gateway_id NULL; the app revokes
-- them (audit log, CRL, ACL, SIGHUP) before it deletes (tds_dash.certificates.gateway_changes), and this
-- trigger revokes whatever is still unrevoked when a gateway is deleted any other way (psql, a script).
-- Frozen once applied.

ALTER TABLE gateway_certificates ALTER COLUMN gateway_id DROP NOT NULL;
ALTER TABLE gateway_certificates DROP CONSTRAINT gateway_certificates_gateway_id_fkey;
ALTER TABLE gateway_certificates ADD CONSTRAINT gateway_certificates_gateway_id_fkey
    FOREIGN KEY (gateway_id) REFERENCES gateways(id) ON DELETE SET NULL;

CREATE FUNCTION tds_revoke_certificates_of_deleted_gateway() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gateway_certificates
       SET status = 'revoked', revoked_at = now(), revoked_by = 'database',
           revocation_reason = 'cessationOfOperation: gateway deleted'
     WHERE gateway_id = OLD.id AND status <> 'revoked';
    RETURN OLD;
END
$$;

CREATE TRIGGER gateways_revoke_certificates BEFORE DELETE ON gateways
    FOR EACH ROW EXECUTE FUNCTION tds_revoke_certificates_of_deleted_gateway();
