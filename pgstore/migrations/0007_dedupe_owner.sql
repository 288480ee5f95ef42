-- 0007: a dedupe claim records its owner, the token of the request that
-- holds it, so that a request whose lease expired and was taken over
-- cannot release the claim of the request that took over. Claims made
-- before have no owner (''): no Release matches them, and they end when
-- their lease expires.

ALTER TABLE webhook_dedupe ADD COLUMN owner text NOT NULL DEFAULT '';
