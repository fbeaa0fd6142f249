-- Small daemon settings changed at run time by control commands and kept across restarts
-- (memoryd/store/jobs.py): today only 'paused' ('1' while `memoryd pause` is in effect).
-- IF NOT EXISTS: a DB set back to an older user_version (tests do) re-runs this harmlessly.
CREATE TABLE IF NOT EXISTS control_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
