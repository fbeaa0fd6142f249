-- The daemons that share one state (memoryd/store/hosts.py). On PostgreSQL each daemon
-- registers its host id at start and refreshes last_seen with a heartbeat; `status` lists
-- them and `doctor` reads the clock offsets. SQLite has one host and leaves the table empty.
CREATE TABLE IF NOT EXISTS hosts (
    host_id         TEXT PRIMARY KEY,            -- <state_dir>/host_id
    hostname        TEXT NOT NULL,
    version         TEXT NOT NULL,               -- memoryd version of the daemon
    started_at      INTEGER NOT NULL,            -- ms, the host's clock
    last_seen       INTEGER NOT NULL,            -- ms, the host's clock at the last heartbeat
    clock_offset_ms INTEGER NOT NULL DEFAULT 0   -- the host's clock minus the server's then
);
