-- The prompt-feedback report reads counts that the database keeps per prompt version, instead
-- of joining every feedback row with every message (about 7 s warm at 10M messages and 1M
-- feedback rows on a 2-core machine; docs/benchmarks.md has the designs tried and their figures).
--
-- Messages per version come from a rollup kept by statement-level triggers on messages, in 16
-- shards so that concurrent writers of one version seldom wait for the same row. Ratings per
-- version come from feedback itself: each row carries its message's prompt version, copied by
-- the database, and an index on (prompt_version_id, rating) is counted with an index-only scan.
-- A rollup of the ratings as well was measured and rejected: it slowed single feedback inserts
-- by 14-17%, over the 10% that issue 5 allows.

-- A message's prompt version is what produced it: it no longer changes once written, so that
-- the rollup and the copies on feedback stay true.
CREATE OR REPLACE FUNCTION messages_keep_place() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.conversation_id IS DISTINCT FROM OLD.conversation_id
        OR NEW.position IS DISTINCT FROM OLD.position
    THEN
        RAISE EXCEPTION 'a message cannot move to another conversation or position'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'messages_place_immutable';
    END IF;
    IF NEW.prompt_version_id IS DISTINCT FROM OLD.prompt_version_id THEN
        RAISE EXCEPTION 'the prompt version that produced a message cannot change'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'messages_prompt_version_immutable';
    END IF;
    RETURN NEW;
END
$$;

CREATE TABLE prompt_version_stats (
    prompt_version_id uuid NOT NULL REFERENCES prompt_versions (id) ON DELETE CASCADE,
    shard smallint NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    CONSTRAINT prompt_version_stats_pkey PRIMARY KEY (prompt_version_id, shard),
    CONSTRAINT prompt_version_stats_shard_range CHECK (shard BETWEEN 0 AND 15)
);

COMMENT ON TABLE prompt_version_stats IS
    'Messages per prompt version, kept by the triggers on messages in 16 shards; sum the shards.';
COMMENT ON COLUMN prompt_version_stats.prompt_version_id IS 'The prompt version counted.';
COMMENT ON COLUMN prompt_version_stats.shard IS
    'Which of the 16 rows of the version this is; writers pick one at random.';
COMMENT ON COLUMN prompt_version_stats.messages IS
    'Messages that this version produced, counted in this shard.';

-- One upsert per statement and version, whatever the number of rows, so that bulk inserts pay
-- almost nothing; rows are touched in version order, so that two writers cannot deadlock here.
CREATE FUNCTION prompt_version_stats_count_messages() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    sign bigint := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    chosen_shard smallint := floor(random() * 16);
BEGIN
    INSERT INTO prompt_version_stats AS s (prompt_version_id, shard, messages)
    SELECT changed.prompt_version_id, chosen_shard, sign * count(*)
      FROM changed_messages AS changed
     WHERE changed.prompt_version_id IS NOT NULL
     GROUP BY changed.prompt_version_id
     ORDER BY changed.prompt_version_id
    ON CONFLICT (prompt_version_id, shard)
        DO UPDATE SET messages = s.messages + EXCLUDED.messages;
    RETURN NULL;
END
$$;

CREATE FUNCTION prompt_version_stats_forget_all() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM prompt_version_stats;
    RETURN NULL;
END
$$;

-- Creating these triggers locks messages against writes until this migration commits, so the
-- backfill below counts exactly the rows that the triggers will not.
CREATE TRIGGER messages_counted_in_prompt_stats
    AFTER INSERT ON messages
    REFERENCING NEW TABLE AS changed_messages
    FOR EACH STATEMENT EXECUTE FUNCTION prompt_version_stats_count_messages();

CREATE TRIGGER messages_uncounted_in_prompt_stats
    AFTER DELETE ON messages
    REFERENCING OLD TABLE AS changed_messages
    FOR EACH STATEMENT EXECUTE FUNCTION prompt_version_stats_count_messages();

CREATE TRIGGER messages_truncated_from_prompt_stats
    AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION prompt_version_stats_forget_all();

INSERT INTO prompt_version_stats (prompt_version_id, shard, messages)
SELECT prompt_version_id, 0, count(*)
  FROM messages
 WHERE prompt_version_id IS NOT NULL
 GROUP BY prompt_version_id;

-- Feedback carries the prompt version of the message it rates; the database sets it on every
-- insert and on a change of message, whatever the client sent.
ALTER TABLE feedback ADD COLUMN prompt_version_id uuid REFERENCES prompt_versions (id);

COMMENT ON COLUMN feedback.prompt_version_id IS
    'The prompt version of the rated message, copied by the database; for the reports.';

UPDATE feedback AS f
   SET prompt_version_id = m.prompt_version_id
  FROM messages AS m
 WHERE m.id = f.message_id
   AND m.prompt_version_id IS NOT NULL;

CREATE FUNCTION feedback_copy_prompt_version() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    SELECT m.prompt_version_id INTO NEW.prompt_version_id
      FROM messages AS m
     WHERE m.id = NEW.message_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER feedback_copy_prompt_version
    BEFORE INSERT OR UPDATE OF message_id, prompt_version_id ON feedback
    FOR EACH ROW EXECUTE FUNCTION feedback_copy_prompt_version();

-- Ratings per version, read without touching the table once it is vacuumed.
CREATE INDEX feedback_prompt_version_rating_idx ON feedback (prompt_version_id, rating)
    WHERE prompt_version_id IS NOT NULL;
