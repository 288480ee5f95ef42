-- 0002: signing secrets sealed with a key ring (webhook.KeyRing). A sealed
-- subscription keeps '[]' in secrets, the id of the key that sealed them in
-- secrets_key_id, and the ciphertext in secrets_sealed; secrets_key_id is ''
-- for secrets kept in clear. Open seals the clear ones once a key ring is
-- configured.

ALTER TABLE subscriptions ADD COLUMN secrets_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN secrets_sealed BLOB;
