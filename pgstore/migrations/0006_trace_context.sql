-- 0006: the trace context of the Publish (or PublishTx) call that created
-- a delivery (Delivery.TraceContext), kept so that the attempts, made
-- later and perhaps by another process, link to the trace that published
-- the event. Empty when there was none; rows from before this migration
-- have none. A constant default makes the ALTER a change of the catalog
-- alone: existing rows are not rewritten.

ALTER TABLE webhook_deliveries ADD COLUMN trace_context text NOT NULL DEFAULT '';
