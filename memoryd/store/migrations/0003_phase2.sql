-- Phase 2: the last successful selection, and usage feedback from citations.

-- The (thread, snapshot) pairs the last successful consolidation consumed. stage1_outputs'
-- selected_for_phase2 marks say the same for rows that still exist (and are kept, as Codex
-- keeps them), but a deleted output takes its mark along; this table still knows that the
-- thread was consolidated, so the next run can label it "removed" and forget it.
-- Rewritten as a whole by every successful phase-2 run (memoryd/store/phase2.py).
CREATE TABLE phase2_selection (
    thread_id         TEXT PRIMARY KEY,
    source_updated_at INTEGER NOT NULL  -- s: the snapshot that was consumed
);

INSERT INTO phase2_selection (thread_id, source_updated_at)
SELECT thread_id, COALESCE(selected_for_phase2_source_updated_at, source_updated_at)
FROM stage1_outputs WHERE selected_for_phase2 = 1;

-- One row per (citing message, cited thread): an assistant message of the citing rollout
-- ended with an <oai-mem-citation> block naming the cited thread (SPEC §4, usage feedback).
-- The key makes counting idempotent: re-scanning a rollout never counts a message twice.
-- A citation of a thread that has no stage-1 output yet (a fresh state DB indexing old
-- sessions that cite memories written earlier) waits with applied = 0 until the output is
-- inserted; the trigger below then counts it.
CREATE TABLE memory_citations (
    citing_thread_id TEXT NOT NULL,
    message_key      TEXT NOT NULL,     -- stable id of the citing message (memoryd/citations.py)
    cited_thread_id  TEXT NOT NULL,
    cited_at         INTEGER NOT NULL,  -- s: when the citing message was written
    applied          INTEGER NOT NULL DEFAULT 0,  -- 1 once counted in stage1_outputs.usage_count
    PRIMARY KEY (citing_thread_id, message_key, cited_thread_id)
);
CREATE INDEX memory_citations_pending ON memory_citations (cited_thread_id) WHERE applied = 0;

-- An output that arrives after its citations were seen gets them counted at once. Only a real
-- insert fires this (an upsert that updates an existing row fires UPDATE triggers instead),
-- and a row that already existed had its citations counted when they were recorded.
CREATE TRIGGER stage1_outputs_pending_citations AFTER INSERT ON stage1_outputs
WHEN EXISTS (SELECT 1 FROM memory_citations
             WHERE cited_thread_id = NEW.thread_id AND applied = 0)
BEGIN
    UPDATE stage1_outputs SET
        usage_count = COALESCE(usage_count, 0)
            + (SELECT count(*) FROM memory_citations
               WHERE cited_thread_id = NEW.thread_id AND applied = 0),
        last_usage = MAX(COALESCE(last_usage, 0),
                         (SELECT MAX(cited_at) FROM memory_citations
                          WHERE cited_thread_id = NEW.thread_id AND applied = 0))
    WHERE thread_id = NEW.thread_id;
    UPDATE memory_citations SET applied = 1
    WHERE cited_thread_id = NEW.thread_id AND applied = 0;
END;
