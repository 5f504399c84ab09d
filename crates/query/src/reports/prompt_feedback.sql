-- Messages and feedback per prompt version.
-- $1 since, $2 until (timestamptz), $3 prompt name, $4 model name (text), $5 version ids (uuid[]);
-- a NULL parameter filters nothing.
--
-- Feedback is counted per message first and only then joined to the messages, so that a message
-- with several feedback records counts once in `messages` and each of its records once in the
-- ratings, and so that the plan is two hash aggregates over the two tables (served by
-- feedback_message_id_idx and messages_prompt_version_id_idx when the filters are narrow)
-- rather than a count(DISTINCT ...) over their join.
WITH ratings_per_message AS (
    SELECT f.message_id,
           count(*) FILTER (WHERE f.rating = 'thumbs_up') AS thumbs_up,
           count(*) FILTER (WHERE f.rating = 'thumbs_down') AS thumbs_down,
           count(*) FILTER (WHERE f.rating = 'neutral') AS neutral
      FROM feedback AS f
     GROUP BY f.message_id
),
counts_per_version AS (
    SELECT m.prompt_version_id,
           count(*) AS messages,
           coalesce(sum(r.thumbs_up), 0)::bigint AS thumbs_up,
           coalesce(sum(r.thumbs_down), 0)::bigint AS thumbs_down,
           coalesce(sum(r.neutral), 0)::bigint AS neutral
      FROM messages AS m
      LEFT JOIN ratings_per_message AS r ON r.message_id = m.id
     WHERE m.prompt_version_id IS NOT NULL
       AND ($1::timestamptz IS NULL OR m.created_at >= $1)
       AND ($2::timestamptz IS NULL OR m.created_at < $2)
       AND ($3::text IS NULL
            OR m.prompt_version_id IN (SELECT id FROM prompt_versions WHERE name = $3))
       AND ($4::text IS NULL OR m.model_name = $4)
       AND ($5::uuid[] IS NULL OR m.prompt_version_id = ANY ($5))
     GROUP BY m.prompt_version_id
)
SELECT pv.name AS prompt_name,
       pv.version,
       pv.id AS prompt_version_id,
       pv.is_active,
       coalesce(c.messages, 0) AS messages,
       coalesce(c.thumbs_up, 0) AS thumbs_up,
       coalesce(c.thumbs_down, 0) AS thumbs_down,
       coalesce(c.neutral, 0) AS neutral
  FROM prompt_versions AS pv
  LEFT JOIN counts_per_version AS c ON c.prompt_version_id = pv.id
 WHERE ($3::text IS NULL OR pv.name = $3)
   AND ($5::uuid[] IS NULL OR pv.id = ANY ($5))
 ORDER BY pv.name, pv.version
