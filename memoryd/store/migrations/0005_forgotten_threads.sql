-- `memoryd forget` (SPEC §7): threads whose memories the user removed stay removed.
--
-- A forgotten thread's rollout is still on disk and its thread row is still indexed, so
-- nothing about the file itself stops phase 1 from extracting it again. The row in this table
-- is the persistent marker, and the triggers below enforce it whatever rewrites the thread row:
--   * its memory_mode is held at 'forgotten' (the indexer upserts memory_mode from the rollout
--     on every re-scan, and re-inserts a row whose file was replaced). Phase-1 candidates and
--     phase-2 inputs both require memory_mode = 'enabled', so it is never claimed or selected;
--   * a stage-1 output for it is never stored: an extraction claimed before the forget that
--     finishes after it is dropped silently.
-- `memoryd clear` keeps this table: clearing memories does not un-forget anything.
-- IF NOT EXISTS: re-applying this file to a DB that already has it (a schema rolled back by
-- hand, as tests/test_phase2_store.py does) must not fail.
CREATE TABLE IF NOT EXISTS forgotten_threads (
    thread_id    TEXT PRIMARY KEY,
    forgotten_at INTEGER NOT NULL  -- s
);

CREATE TRIGGER IF NOT EXISTS threads_forgotten_stay_forgotten_update AFTER UPDATE OF memory_mode ON threads
WHEN NEW.memory_mode <> 'forgotten'
 AND EXISTS (SELECT 1 FROM forgotten_threads WHERE thread_id = NEW.id)
BEGIN
    UPDATE threads SET memory_mode = 'forgotten' WHERE id = NEW.id;
END;

CREATE TRIGGER IF NOT EXISTS threads_forgotten_stay_forgotten_insert AFTER INSERT ON threads
WHEN NEW.memory_mode <> 'forgotten'
 AND EXISTS (SELECT 1 FROM forgotten_threads WHERE thread_id = NEW.id)
BEGIN
    UPDATE threads SET memory_mode = 'forgotten' WHERE id = NEW.id;
END;

CREATE TRIGGER IF NOT EXISTS stage1_outputs_refuse_forgotten BEFORE INSERT ON stage1_outputs
WHEN EXISTS (SELECT 1 FROM forgotten_threads WHERE thread_id = NEW.thread_id)
BEGIN
    SELECT RAISE(IGNORE);
END;
