-- The host that indexed each rollout (memoryd/store/engine.py: host_of). On SQLite there is
-- one host and the id stays ''; on PostgreSQL every daemon sharing the database writes its
-- own, and indexes and claims only rows that carry it: a raw transcript is read only by the
-- machine it lives on. A file path is unique per host.
ALTER TABLE threads ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
ALTER TABLE index_problems ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX index_problems_host_path ON index_problems (host_id, path);
