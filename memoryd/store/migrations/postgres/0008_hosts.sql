-- ../0008_hosts.sql: the daemons sharing this database, refreshed by their heartbeats.
CREATE TABLE IF NOT EXISTS hosts (
    host_id         TEXT PRIMARY KEY,
    hostname        TEXT NOT NULL,
    version         TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    clock_offset_ms BIGINT NOT NULL DEFAULT 0
);
