-- 0004: the queue is vacuumed and analyzed by a count of changed rows, not
-- a fraction of its size.
--
-- Every delivery inserts a queue row, rewrites it at each claim and deletes
-- it when it ends: a busy queue of a few thousand rows leaves tens of
-- thousands of dead rows a minute, whose index entries each claim's scan
-- of webhook_queue_due steps over. PostgreSQL's defaults wait for a fifth
-- of the table to be dead, which a small, busy table reaches at once and
-- a table that just drained a large backlog only much later, and vacuum
-- it with cost-based pauses. Here autovacuum takes the queue whenever
-- 2,000 rows changed, without pauses (it is narrow: a vacuum of it takes
-- milliseconds), and analyzes it as often, so the planner's view of its
-- size follows backlogs. Nothing in the server's configuration has to
-- change; these are storage parameters of this table alone.
ALTER TABLE webhook_queue SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0
);
