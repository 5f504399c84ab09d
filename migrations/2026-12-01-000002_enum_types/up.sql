-- The two closed vocabularies of the schema. Rust mirrors them in chatledger_schema::enums.
CREATE TYPE message_role AS ENUM ('system', 'user', 'assistant', 'tool');
COMMENT ON TYPE message_role IS 'Who wrote a message, in the chat-completion sense.';

CREATE TYPE feedback_rating AS ENUM ('thumbs_up', 'thumbs_down', 'neutral');
COMMENT ON TYPE feedback_rating IS 'What a person thought of a message.';
