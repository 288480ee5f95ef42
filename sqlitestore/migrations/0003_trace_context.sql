-- 0003: the trace context of the Publish call that created a delivery
-- (Delivery.TraceContext), kept so that the attempts, made later and
-- perhaps after a restart, link to the trace that published the event.
-- Empty when there was none; rows from before this migration have none.

ALTER TABLE deliveries ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';
