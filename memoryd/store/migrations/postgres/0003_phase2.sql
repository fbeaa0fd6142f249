-- ../0003_phase2.sql: the last phase-2 selection and citation counting, the trigger in PL/pgSQL.
CREATE TABLE phase2_selection (
    thread_id         TEXT PRIMARY KEY,
    source_updated_at BIGINT NOT NULL
);

CREATE TABLE memory_citations (
    citing_thread_id TEXT NOT NULL,
    message_key      TEXT NOT NULL,
    cited_thread_id  TEXT NOT NULL,
    cited_at         BIGINT NOT NULL,
    applied          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (citing_thread_id, message_key, cited_thread_id)
);
CREATE INDEX memory_citations_pending ON memory_citations (cited_thread_id) WHERE applied = 0;

CREATE FUNCTION stage1_outputs_pending_citations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM memory_citations
               WHERE cited_thread_id = NEW.thread_id AND applied = 0) THEN
        UPDATE stage1_outputs SET
            usage_count = COALESCE(usage_count, 0)
                + (SELECT count(*) FROM memory_citations
                   WHERE cited_thread_id = NEW.thread_id AND applied = 0),
            last_usage = GREATEST(COALESCE(last_usage, 0),
                                  (SELECT MAX(cited_at) FROM memory_citations
                                   WHERE cited_thread_id = NEW.thread_id AND applied = 0))
        WHERE thread_id = NEW.thread_id;
        UPDATE memory_citations SET applied = 1
        WHERE cited_thread_id = NEW.thread_id AND applied = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stage1_outputs_pending_citations AFTER INSERT ON stage1_outputs
FOR EACH ROW EXECUTE FUNCTION stage1_outputs_pending_citations();
