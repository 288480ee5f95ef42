-- 0005: signing secrets sealed with a key ring (webhook.KeyRing). A sealed
-- subscription keeps '[]' in secrets, the id of the key that sealed them in
-- secrets_key_id, and the ciphertext in secrets_sealed; secrets_key_id is ''
-- for secrets kept in clear. Store.Migrate seals the clear ones once a key
-- ring is configured.

ALTER TABLE webhook_subscriptions
    ADD COLUMN secrets_key_id text NOT NULL DEFAULT '',
    ADD COLUMN secrets_sealed bytea;
