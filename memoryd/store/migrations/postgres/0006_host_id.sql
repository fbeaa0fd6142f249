-- ../0006_host_id.sql: the host that indexed each rollout; a file path is unique per host
-- (two machines may well keep sessions under the same path).
ALTER TABLE threads ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
ALTER TABLE threads DROP CONSTRAINT threads_rollout_path_key;
CREATE UNIQUE INDEX threads_host_path ON threads (host_id, rollout_path);
ALTER TABLE index_problems ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
ALTER TABLE index_problems DROP CONSTRAINT index_problems_pkey;
ALTER TABLE index_problems ADD PRIMARY KEY (host_id, path);
CREATE INDEX threads_host_stage1_pending ON threads (host_id, updated_at DESC)
WHERE stage1_pending = 1 AND archived = 0 AND memory_mode = 'enabled';
