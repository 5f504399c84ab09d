-- The export's cursor lists every feedback row in the order of its message's place, and each
-- message's feedback from oldest to newest (crates/query/src/export/export_rated.sql). Without
-- an index in that order PostgreSQL sorted all of feedback on disk before the first record:
-- 150 ms for 100,000 rows, against 44 ms read in order from this index, which also hands out
-- the first rows at once. Single feedback inserts took 0.523 ms with it against 0.517 ms
-- without (medians of eight alternating pgbench rounds; docs/benchmarks.md, fifth round).
CREATE INDEX feedback_place_idx
    ON feedback (conversation_id, message_position, created_at, id);
