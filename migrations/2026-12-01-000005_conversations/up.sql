-- A conversation is one thread of messages owned by one user. Its counters are kept by the
-- triggers on messages (next migration) and may not be written by anyone else.
CREATE TABLE conversations (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text,
    total_tokens integer NOT NULL DEFAULT 0,
    last_message_position integer NOT NULL DEFAULT 0,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_total_tokens_not_negative CHECK (total_tokens >= 0),
    CONSTRAINT conversations_last_message_position_not_negative CHECK (last_message_position >= 0),
    CONSTRAINT conversations_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- "A user's conversations, newest first", with (created_at, id) as the keyset; it also serves
-- the cascade when a user is erased.
CREATE INDEX conversations_user_newest_first ON conversations (user_id, created_at DESC, id DESC);

-- The counters belong to the triggers on messages: a direct write would make them lie.
-- pg_trigger_depth() is 1 for a statement's own trigger and 2 when the update comes from a
-- trigger on messages.
CREATE FUNCTION conversations_guard_counters() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.total_tokens <> 0 OR NEW.last_message_position <> 0 THEN
            RAISE EXCEPTION 'a new conversation starts with total_tokens = 0 and no messages'
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'conversations_counters_maintained';
        END IF;
    ELSIF pg_trigger_depth() < 2
        AND (NEW.total_tokens IS DISTINCT FROM OLD.total_tokens
             OR NEW.last_message_position IS DISTINCT FROM OLD.last_message_position)
    THEN
        RAISE EXCEPTION 'conversations.total_tokens and last_message_position are kept by the database'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'conversations_counters_maintained',
                  HINT = 'Insert, update or delete messages instead.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_counters_maintained
    BEFORE INSERT OR UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_guard_counters();

COMMENT ON TABLE conversations IS 'One thread of messages between a user and the assistant.';
COMMENT ON COLUMN conversations.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN conversations.user_id IS 'The owner; erasing the user erases the conversation.';
COMMENT ON COLUMN conversations.total_tokens IS
    'Sum of the messages'' token_count (NULL counts 0), kept by the database.';
COMMENT ON COLUMN conversations.last_message_position IS
    'Position of the newest message ever appended, kept by the database; new messages take the next one.';
COMMENT ON COLUMN conversations.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
COMMENT ON COLUMN conversations.updated_at IS 'When the conversation or its messages last changed.';
