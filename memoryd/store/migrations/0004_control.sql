-- Small daemon settings changed at run time by control commands and kept across restarts
-- (memoryd/store/jobs.py): today only 'paused' ('1' while `memoryd pause` is in effect).
CREATE TABLE control_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
