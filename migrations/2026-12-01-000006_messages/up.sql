-- Messages are the ledger itself: who said what, in which order, produced by which prompt
-- version and model, at what cost. The triggers below keep each conversation's counters true for
-- every writer, plain SQL included.
CREATE TABLE messages (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position integer NOT NULL,
    role message_role NOT NULL,
    content text NOT NULL,
    token_count integer,
    prompt_version_id uuid REFERENCES prompt_versions (id),
    model_name text,
    finish_reason text,
    latency_ms integer,
    tool_calls jsonb,
    tool_call_id text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_conversation_position_key UNIQUE (conversation_id, position),
    CONSTRAINT messages_token_count_not_negative CHECK (token_count >= 0),
    CONSTRAINT messages_latency_ms_not_negative CHECK (latency_ms >= 0),
    CONSTRAINT messages_tool_calls_only_from_assistant
        CHECK (tool_calls IS NULL OR (role = 'assistant' AND jsonb_typeof(tool_calls) = 'array')),
    CONSTRAINT messages_tool_call_id_only_on_tool
        CHECK ((role = 'tool') = (tool_call_id IS NOT NULL)),
    CONSTRAINT messages_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- Reports group messages by the prompt version that produced them; most messages (the users')
-- have none, so the index leaves them out.
CREATE INDEX messages_prompt_version_id_idx ON messages (prompt_version_id)
    WHERE prompt_version_id IS NOT NULL;

-- Appending a message locks its conversation's row, takes the next position and adds its tokens,
-- in one update. The row lock orders concurrent appends to one conversation, so positions follow
-- commit order and read back in the order written, even for rows of one transaction (equal now()).
-- A negative count adds nothing here: the message's own CHECK refuses the row right after this
-- trigger, and the refusal should name that constraint, not the conversation's.
CREATE FUNCTION messages_append_to_conversation() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations
       SET last_message_position = last_message_position + 1,
           total_tokens = total_tokens + greatest(coalesce(NEW.token_count, 0), 0),
           updated_at = greatest(updated_at, clock_timestamp())
     WHERE id = NEW.conversation_id
    RETURNING last_message_position INTO NEW.position;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'conversation % does not exist', NEW.conversation_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'messages_conversation_id_fkey';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_append_to_conversation
    BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_append_to_conversation();

-- A message stays in its conversation at its position; its token count may be corrected, and
-- the conversation's total follows.
CREATE FUNCTION messages_keep_place() RETURNS trigger
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

CREATE TRIGGER messages_keep_place
    BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_keep_place();

CREATE FUNCTION messages_update_conversation_tokens() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE conversations
           SET total_tokens = total_tokens - coalesce(OLD.token_count, 0)
                                           + coalesce(NEW.token_count, 0),
               updated_at = greatest(updated_at, clock_timestamp())
         WHERE id = NEW.conversation_id;
        RETURN NEW;
    END IF;

    -- DELETE. When the delete cascades from the conversation itself, that row is already gone
    -- and this updates nothing.
    UPDATE conversations
       SET total_tokens = total_tokens - coalesce(OLD.token_count, 0),
           updated_at = greatest(updated_at, clock_timestamp())
     WHERE id = OLD.conversation_id;
    RETURN OLD;
END
$$;

CREATE TRIGGER messages_token_count_changed
    AFTER UPDATE OF token_count ON messages
    FOR EACH ROW
    WHEN (OLD.token_count IS DISTINCT FROM NEW.token_count)
    EXECUTE FUNCTION messages_update_conversation_tokens();

CREATE TRIGGER messages_deleted
    AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_update_conversation_tokens();

COMMENT ON TABLE messages IS
    'Every message of every conversation, in order, with the prompt version and model that produced it.';
COMMENT ON COLUMN messages.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN messages.position IS
    'Place in the conversation, 1 for the first message, assigned by the database in commit order.';
COMMENT ON COLUMN messages.content IS 'The message text; empty for an assistant turn that only calls tools.';
COMMENT ON COLUMN messages.token_count IS
    'Tokens of this message as counted by the model''s tokenizer; NULL when unknown.';
COMMENT ON COLUMN messages.prompt_version_id IS
    'The prompt version that produced this message (assistant messages), if any.';
COMMENT ON COLUMN messages.model_name IS 'The model that generated this message, if any.';
COMMENT ON COLUMN messages.finish_reason IS
    'Why generation stopped, as the provider reports it (stop, length, tool_calls, content_filter).';
COMMENT ON COLUMN messages.latency_ms IS 'Time from request to the full response, in milliseconds.';
COMMENT ON COLUMN messages.tool_calls IS
    'JSON array of the tool calls an assistant message made: [{"id", "name", "arguments"}].';
COMMENT ON COLUMN messages.tool_call_id IS 'For a tool message, the id of the tool call it answers.';
COMMENT ON COLUMN messages.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
