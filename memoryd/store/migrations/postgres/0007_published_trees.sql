-- ../0007_published_trees.sql: the newest consolidated memory tree, for the other hosts.
CREATE TABLE published_trees (
    seq BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    host_id TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    files BYTEA NOT NULL
);
