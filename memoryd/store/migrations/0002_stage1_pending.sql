-- A hint that keeps the phase-1 scan proportional to the work left, not to every thread ever
-- seen: 1 while a thread's current updated_at has not been extracted. The scan still applies
-- the exact up-to-date rules; this only lets it skip rows that are certainly done.
-- Set by the indexer whenever updated_at changes, cleared by the stage-1 finalisers.
ALTER TABLE threads ADD COLUMN stage1_pending INTEGER NOT NULL DEFAULT 1;

UPDATE threads SET stage1_pending = 0
WHERE EXISTS (SELECT 1 FROM stage1_outputs o
              WHERE o.thread_id = threads.id AND o.source_updated_at >= threads.updated_at / 1000)
   OR EXISTS (SELECT 1 FROM jobs j
              WHERE j.kind = 'memory_stage1' AND j.job_key = threads.id
                AND j.last_success_watermark >= threads.updated_at / 1000);

CREATE INDEX threads_stage1_pending ON threads (updated_at DESC)
WHERE stage1_pending = 1 AND archived = 0 AND memory_mode = 'enabled';
