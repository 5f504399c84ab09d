-- Back to migration 000011's trigger, which copies the prompt version only; its text is
-- repeated here because that migration is applied and is not edited.
DROP TRIGGER feedback_copy_message_facts ON feedback;
DROP FUNCTION feedback_copy_message_facts();

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

ALTER TABLE feedback
    DROP COLUMN message_position,
    DROP COLUMN conversation_id;
