-- ../0005_forgotten_threads.sql: a forgotten thread stays forgotten whatever rewrites its
-- row, and no stage-1 output is ever stored for it (the triggers in PL/pgSQL).
CREATE TABLE forgotten_threads (
    thread_id    TEXT PRIMARY KEY,
    forgotten_at BIGINT NOT NULL
);

-- BEFORE rather than SQLite's AFTER + UPDATE: PostgreSQL can set the new row's value itself.
CREATE FUNCTION threads_forgotten_stay_forgotten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.memory_mode <> 'forgotten'
       AND EXISTS (SELECT 1 FROM forgotten_threads WHERE thread_id = NEW.id) THEN
        NEW.memory_mode := 'forgotten';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER threads_forgotten_stay_forgotten BEFORE INSERT OR UPDATE OF memory_mode
ON threads FOR EACH ROW EXECUTE FUNCTION threads_forgotten_stay_forgotten();

CREATE FUNCTION stage1_outputs_refuse_forgotten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM forgotten_threads WHERE thread_id = NEW.thread_id) THEN
        RETURN NULL;  -- as SQLite's RAISE(IGNORE): the insert is dropped silently
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER stage1_outputs_refuse_forgotten BEFORE INSERT ON stage1_outputs
FOR EACH ROW EXECUTE FUNCTION stage1_outputs_refuse_forgotten();
