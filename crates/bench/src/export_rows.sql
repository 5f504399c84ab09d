-- The rows an export's records are made of, in one statement, for the runner's COPY baseline
-- (it was the export's own cursor in the second round): in (conversation, position) order,
-- every conversation that holds at least one candidate, from its first message up to its last
-- candidate, each row marked when it is a candidate. Only rated conversations are touched: the
-- candidates are found from feedback, not by walking every message.
-- $1 the ratings that make an assistant answer a candidate (feedback_rating[]).
WITH rated_conversations AS (
    SELECT m.conversation_id, max(m.position) AS last_candidate_position
      FROM feedback AS f
      JOIN messages AS m ON m.id = f.message_id
     WHERE m.role = 'assistant'
       AND f.rating = ANY ($1)
     GROUP BY m.conversation_id
)
SELECT m.id,
       m.conversation_id,
       m.role,
       m.content,
       m.model_name,
       m.tool_calls,
       m.tool_call_id,
       m.role = 'assistant'
           AND EXISTS (SELECT 1
                         FROM feedback AS f
                        WHERE f.message_id = m.id
                          AND f.rating = ANY ($1)) AS is_candidate,
       pv.name AS prompt_name,
       pv.version AS prompt_version
  FROM rated_conversations AS r
  JOIN messages AS m
    ON m.conversation_id = r.conversation_id
   AND m.position <= r.last_candidate_position
  LEFT JOIN prompt_versions AS pv ON pv.id = m.prompt_version_id
 ORDER BY m.conversation_id, m.position
