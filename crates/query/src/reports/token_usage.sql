-- Messages and tokens per UTC day and model, and per user when $5 is true.
-- $1 since, $2 until (timestamptz), $3 prompt name, $4 model name (text), $5 per user (boolean);
-- a NULL filter parameter filters nothing.
--
-- Input tokens are those of system, user and tool messages (what goes into the model), output
-- tokens those of assistant messages. A message without a token count counts as a message with
-- no tokens.
SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day,
       m.model_name,
       CASE WHEN $5 THEN c.user_id END AS user_id,
       count(*) AS messages,
       coalesce(sum(m.token_count), 0)::bigint AS tokens,
       coalesce(sum(m.token_count) FILTER (WHERE m.role IN ('system', 'user', 'tool')), 0)::bigint
           AS input_tokens,
       coalesce(sum(m.token_count) FILTER (WHERE m.role = 'assistant'), 0)::bigint
           AS output_tokens
  FROM messages AS m
  JOIN conversations AS c ON c.id = m.conversation_id
 WHERE ($1::timestamptz IS NULL OR m.created_at >= $1)
   AND ($2::timestamptz IS NULL OR m.created_at < $2)
   AND ($3::text IS NULL
        OR m.prompt_version_id IN (SELECT id FROM prompt_versions WHERE name = $3))
   AND ($4::text IS NULL OR m.model_name = $4)
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3
