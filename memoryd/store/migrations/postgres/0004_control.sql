-- ../0004_control.sql: daemon settings changed by control commands ('paused').
CREATE TABLE control_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
