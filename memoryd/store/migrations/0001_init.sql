-- memoryd state DB, version 1. Column names of jobs and stage1_outputs are Codex's
-- (reference/codex-memories.md §3) so the two can be compared row for row.

CREATE TABLE threads (
    id                   TEXT PRIMARY KEY,           -- thread UUID: first session_meta, else file name
    rollout_path         TEXT NOT NULL UNIQUE,
    source               TEXT NOT NULL DEFAULT 'vscode',  -- as Codex stores it: bare string or JSON text
    thread_source        TEXT,
    cwd                  TEXT NOT NULL DEFAULT '',
    git_branch           TEXT,
    git_sha              TEXT,
    git_origin_url       TEXT,
    cli_version          TEXT NOT NULL DEFAULT '',
    model_provider       TEXT,
    created_at           INTEGER NOT NULL,           -- ms
    updated_at           INTEGER NOT NULL,           -- ms: rollout file mtime, as Codex does
    preview              TEXT NOT NULL DEFAULT '',   -- first real user message
    archived             INTEGER NOT NULL DEFAULT 0,
    memory_mode_at_start TEXT,                       -- Codex's generate_memories marker on the first session_meta
    memory_mode          TEXT NOT NULL DEFAULT 'enabled',  -- per-thread choice: enabled | disabled | polluted
    -- indexer bookkeeping: a re-scan reads only bytes appended after parsed_offset
    file_size            INTEGER NOT NULL DEFAULT 0,
    file_mtime_ns        INTEGER NOT NULL DEFAULT 0,
    file_inode           INTEGER NOT NULL DEFAULT 0,
    file_dev             INTEGER NOT NULL DEFAULT 0,
    parsed_offset        INTEGER NOT NULL DEFAULT 0,
    first_line_sha256    TEXT,
    lines_parsed         INTEGER NOT NULL DEFAULT 0,
    lines_skipped        INTEGER NOT NULL DEFAULT 0,
    last_skip_reason     TEXT,                       -- why the last skipped line was skipped
    has_session_meta     INTEGER NOT NULL DEFAULT 0,
    index_error          TEXT,                       -- set when the file could not be used at all
    indexed_at           INTEGER NOT NULL DEFAULT 0  -- ms
);
CREATE INDEX threads_claim ON threads (archived, memory_mode, updated_at DESC);

-- Files the indexer could not attach to any thread row (no id could be found, or gone).
CREATE TABLE index_problems (
    path       TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    first_seen INTEGER NOT NULL,  -- ms
    last_seen  INTEGER NOT NULL   -- ms
);

CREATE TABLE jobs (
    kind                   TEXT NOT NULL,     -- memory_stage1 | memory_consolidate_global
    job_key                TEXT NOT NULL,     -- thread id, or 'global'
    status                 TEXT NOT NULL,     -- pending | running | done | error
    worker_id              TEXT,
    ownership_token        TEXT,
    started_at             INTEGER,           -- s
    finished_at            INTEGER,           -- s
    lease_until            INTEGER,           -- s
    retry_at               INTEGER,           -- s
    retry_remaining        INTEGER NOT NULL,
    last_error             TEXT,
    input_watermark        INTEGER,
    last_success_watermark INTEGER,
    PRIMARY KEY (kind, job_key)
);
CREATE INDEX jobs_kind_status ON jobs (kind, status, retry_at, lease_until);

CREATE TABLE stage1_outputs (
    thread_id                             TEXT PRIMARY KEY,
    source_updated_at                     INTEGER NOT NULL,  -- s
    raw_memory                            TEXT NOT NULL,
    rollout_summary                       TEXT NOT NULL,
    rollout_slug                          TEXT,
    generated_at                          INTEGER NOT NULL,  -- s
    usage_count                           INTEGER,
    last_usage                            INTEGER,           -- s
    selected_for_phase2                   INTEGER NOT NULL DEFAULT 0,
    selected_for_phase2_source_updated_at INTEGER,
    -- provenance
    rollout_path                          TEXT,
    input_first_line                      INTEGER,
    input_last_line                       INTEGER,
    input_sha256                          TEXT,
    backend                               TEXT,
    model                                 TEXT,
    input_tokens                          INTEGER,
    output_tokens                         INTEGER,
    chunk_count                           INTEGER
);
CREATE INDEX stage1_outputs_recent ON stage1_outputs (source_updated_at DESC, thread_id DESC);

CREATE TABLE phase2_runs (
    run_id           TEXT PRIMARY KEY,
    started_at       INTEGER NOT NULL,  -- ms
    finished_at      INTEGER,           -- ms
    outcome          TEXT NOT NULL,     -- running | succeeded | noop | failed
    reason           TEXT,
    inputs_added     INTEGER NOT NULL DEFAULT 0,
    inputs_retained  INTEGER NOT NULL DEFAULT 0,
    inputs_removed   INTEGER NOT NULL DEFAULT 0,
    history_commit   TEXT,
    input_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX phase2_runs_started ON phase2_runs (started_at DESC);

CREATE TABLE usage_ledger (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,  -- ms
    phase         TEXT NOT NULL,     -- phase1 | phase2
    backend       TEXT NOT NULL,
    model         TEXT NOT NULL DEFAULT '',
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_estimate REAL,
    thread_id     TEXT,
    run_id        TEXT
);
CREATE INDEX usage_ledger_at ON usage_ledger (at);
