-- Per embedded source: how often its chunks were retrieved, how many answers they fed, and how
-- those answers were rated. $1 since, $2 until (timestamptz), $3 prompt name, $4 model name
-- (text) filter the answers (messages); a NULL one filters nothing.
--
-- Retrievals are first reduced to one row per (source, answer), and feedback to one row per
-- answer, so that an answer fed by three chunks of one document adds its ratings to that
-- document once, and an answer with two feedback records adds both.
WITH fed AS (
    SELECT e.source_type, e.source_id, r.message_id, count(*) AS retrievals
      FROM message_retrievals AS r
      JOIN embeddings AS e ON e.id = r.embedding_id
      JOIN messages AS m ON m.id = r.message_id
     WHERE ($1::timestamptz IS NULL OR m.created_at >= $1)
       AND ($2::timestamptz IS NULL OR m.created_at < $2)
       AND ($3::text IS NULL
            OR m.prompt_version_id IN (SELECT id FROM prompt_versions WHERE name = $3))
       AND ($4::text IS NULL OR m.model_name = $4)
     GROUP BY e.source_type, e.source_id, r.message_id
),
ratings_per_message AS (
    SELECT f.message_id,
           count(*) FILTER (WHERE f.rating = 'thumbs_up') AS thumbs_up,
           count(*) FILTER (WHERE f.rating = 'thumbs_down') AS thumbs_down
      FROM feedback AS f
     WHERE f.message_id IN (SELECT message_id FROM fed)
     GROUP BY f.message_id
)
SELECT fed.source_type,
       fed.source_id,
       sum(fed.retrievals)::bigint AS retrievals,
       count(*) AS messages,
       coalesce(sum(r.thumbs_up), 0)::bigint AS thumbs_up,
       coalesce(sum(r.thumbs_down), 0)::bigint AS thumbs_down
  FROM fed
  LEFT JOIN ratings_per_message AS r ON r.message_id = fed.message_id
 GROUP BY fed.source_type, fed.source_id
