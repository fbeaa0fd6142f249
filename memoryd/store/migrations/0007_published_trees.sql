-- The memory trees consolidations published for the other hosts (memoryd/store/published.py).
-- Written only on PostgreSQL, where several hosts share the state; on SQLite there is one
-- host and the table stays empty. Only the newest tree is kept: a host that was offline
-- catches up with it, never with the ones in between.
CREATE TABLE published_trees (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    host_id TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    files BLOB NOT NULL
);
