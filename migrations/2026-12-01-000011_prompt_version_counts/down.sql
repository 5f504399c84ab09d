DROP INDEX feedback_prompt_version_rating_idx;
DROP TRIGGER feedback_copy_prompt_version ON feedback;
DROP FUNCTION feedback_copy_prompt_version();
ALTER TABLE feedback DROP COLUMN prompt_version_id;

DROP TRIGGER messages_truncated_from_prompt_stats ON messages;
DROP TRIGGER messages_uncounted_in_prompt_stats ON messages;
DROP TRIGGER messages_counted_in_prompt_stats ON messages;
DROP FUNCTION prompt_version_stats_forget_all();
DROP FUNCTION prompt_version_stats_count_messages();
DROP TABLE prompt_version_stats;

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
    RETURN NEW;
END
$$;
