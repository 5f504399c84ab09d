-- Feedback records per prompt version and category.
-- $1 since, $2 until (timestamptz), $3 prompt name, $4 model name (text) filter the rated
-- messages; a NULL one filters nothing.
--
-- A record counts once per distinct category it carries, so a record labelled
-- {inaccurate,inaccurate} counts once under inaccurate.
SELECT pv.name AS prompt_name,
       pv.version,
       pv.id AS prompt_version_id,
       labels.category,
       count(*) AS feedback,
       count(*) FILTER (WHERE f.rating = 'thumbs_up') AS thumbs_up,
       count(*) FILTER (WHERE f.rating = 'thumbs_down') AS thumbs_down,
       count(*) FILTER (WHERE f.rating = 'neutral') AS neutral
  FROM feedback AS f
  JOIN messages AS m ON m.id = f.message_id
  JOIN prompt_versions AS pv ON pv.id = m.prompt_version_id
 CROSS JOIN LATERAL (SELECT DISTINCT category FROM unnest(f.categories) AS category) AS labels
 WHERE ($1::timestamptz IS NULL OR m.created_at >= $1)
   AND ($2::timestamptz IS NULL OR m.created_at < $2)
   AND ($3::text IS NULL OR pv.name = $3)
   AND ($4::text IS NULL OR m.model_name = $4)
 GROUP BY pv.id, labels.category
 ORDER BY pv.name, pv.version, feedback DESC, labels.category
