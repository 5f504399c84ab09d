-- Assistant messages that are unusually long for their prompt version (or, without one, for
-- their model). $1 since, $2 until (timestamptz), $3 prompt name, $4 model name (text) choose
-- the messages, a NULL one filtering nothing; $5 is the factor k (double precision).
--
-- The medians are taken over the same filtered messages that are searched, so a window asks
-- "unusual for that period". A version's median is over its assistant messages; a model's over
-- all of its assistant messages. A median of 0 makes every ratio infinite, so such groups are
-- left out.
WITH scoped AS (
    SELECT m.id, m.conversation_id, m.prompt_version_id, m.model_name, m.token_count,
           m.created_at
      FROM messages AS m
     WHERE m.role = 'assistant'
       AND m.token_count IS NOT NULL
       AND ($1::timestamptz IS NULL OR m.created_at >= $1)
       AND ($2::timestamptz IS NULL OR m.created_at < $2)
       AND ($3::text IS NULL
            OR m.prompt_version_id IN (SELECT id FROM prompt_versions WHERE name = $3))
       AND ($4::text IS NULL OR m.model_name = $4)
),
version_medians AS (
    SELECT prompt_version_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY token_count) AS median
      FROM scoped
     WHERE prompt_version_id IS NOT NULL
     GROUP BY prompt_version_id
),
model_medians AS (
    SELECT model_name,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY token_count) AS median
      FROM scoped
     WHERE model_name IS NOT NULL
     GROUP BY model_name
),
baselined AS (
    SELECT s.*,
           CASE WHEN s.prompt_version_id IS NOT NULL THEN v.median ELSE mm.median END AS median
      FROM scoped AS s
      LEFT JOIN version_medians AS v ON v.prompt_version_id = s.prompt_version_id
      LEFT JOIN model_medians AS mm ON mm.model_name = s.model_name
)
SELECT id AS message_id,
       conversation_id,
       prompt_version_id,
       model_name,
       token_count,
       median,
       token_count / median AS ratio,
       created_at
  FROM baselined
 WHERE median > 0
   AND token_count > $5 * median
 ORDER BY created_at DESC, id DESC
