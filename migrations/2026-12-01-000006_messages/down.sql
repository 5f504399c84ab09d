DROP TABLE messages;
DROP FUNCTION messages_update_conversation_tokens();
DROP FUNCTION messages_keep_place();
DROP FUNCTION messages_append_to_conversation();
