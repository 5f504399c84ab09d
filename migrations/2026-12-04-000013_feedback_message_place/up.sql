-- Feedback carries where its message stands, the conversation and the position, copied by the
-- database as the prompt version is (migration 000011), so that an export can list its
-- candidates in conversation order from feedback alone. Listing them by joining feedback with
-- messages read the whole messages table: about 3 s before the first record of an export of
-- 1M records at 10M messages (docs/benchmarks.md, third round). A message never changes its
-- conversation or position (messages_keep_place), so the copies stay true.
ALTER TABLE feedback
    ADD COLUMN conversation_id uuid,
    ADD COLUMN message_position integer;

COMMENT ON COLUMN feedback.conversation_id IS
    'The conversation of the rated message, copied by the database; for the export.';
COMMENT ON COLUMN feedback.message_position IS
    'The position of the rated message in its conversation, copied by the database.';

UPDATE feedback AS f
   SET conversation_id = m.conversation_id,
       message_position = m.position
  FROM messages AS m
 WHERE m.id = f.message_id;

-- One lookup of the message for all three copies, whatever the client sent.
CREATE FUNCTION feedback_copy_message_facts() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    SELECT m.prompt_version_id, m.conversation_id, m.position
      INTO NEW.prompt_version_id, NEW.conversation_id, NEW.message_position
      FROM messages AS m
     WHERE m.id = NEW.message_id;
    RETURN NEW;
END
$$;

DROP TRIGGER feedback_copy_prompt_version ON feedback;
DROP FUNCTION feedback_copy_prompt_version();

CREATE TRIGGER feedback_copy_message_facts
    BEFORE INSERT OR UPDATE OF message_id, prompt_version_id, conversation_id, message_position
    ON feedback
    FOR EACH ROW EXECUTE FUNCTION feedback_copy_message_facts();
