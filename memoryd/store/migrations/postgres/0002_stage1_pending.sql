-- ../0002_stage1_pending.sql: the "not extracted yet" hint and its partial index. A new
-- database has no rows, so there is nothing to backfill.
ALTER TABLE threads ADD COLUMN stage1_pending BIGINT NOT NULL DEFAULT 1;

CREATE INDEX threads_stage1_pending ON threads (updated_at DESC)
WHERE stage1_pending = 1 AND archived = 0 AND memory_mode = 'enabled';
