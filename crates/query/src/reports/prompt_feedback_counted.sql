-- Messages and feedback per prompt version from the counts the database keeps
-- (prompt_version_stats and feedback.prompt_version_id). Serves the report when no time window
-- and no model name are given; with either, the report keeps its query over messages.
-- $1 prompt name (text), $2 version ids (uuid[]); a NULL parameter filters nothing.
WITH messages_per_version AS MATERIALIZED (
    SELECT s.prompt_version_id, sum(s.messages)::bigint AS messages
      FROM prompt_version_stats AS s
     GROUP BY s.prompt_version_id
),
ratings_per_version AS MATERIALIZED (
    SELECT f.prompt_version_id,
           count(*) FILTER (WHERE f.rating = 'thumbs_up') AS thumbs_up,
           count(*) FILTER (WHERE f.rating = 'thumbs_down') AS thumbs_down,
           count(*) FILTER (WHERE f.rating = 'neutral') AS neutral
      FROM feedback AS f
     WHERE f.prompt_version_id IS NOT NULL
       AND ($1::text IS NULL
            OR f.prompt_version_id IN (SELECT id FROM prompt_versions WHERE name = $1))
       AND ($2::uuid[] IS NULL OR f.prompt_version_id = ANY ($2))
     GROUP BY f.prompt_version_id
)
SELECT pv.name AS prompt_name,
       pv.version,
       pv.id AS prompt_version_id,
       pv.is_active,
       coalesce(m.messages, 0) AS messages,
       coalesce(r.thumbs_up, 0) AS thumbs_up,
       coalesce(r.thumbs_down, 0) AS thumbs_down,
       coalesce(r.neutral, 0) AS neutral
  FROM prompt_versions AS pv
  LEFT JOIN messages_per_version AS m ON m.prompt_version_id = pv.id
  LEFT JOIN ratings_per_version AS r ON r.prompt_version_id = pv.id
 WHERE ($1::text IS NULL OR pv.name = $1)
   AND ($2::uuid[] IS NULL OR pv.id = ANY ($2))
 ORDER BY pv.name, pv.version
