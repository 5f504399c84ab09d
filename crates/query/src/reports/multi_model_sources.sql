-- Sources whose chunks were embedded by more than one model, with those models. $1 model name
-- (text): only sources that this model is one of; NULL for all.
SELECT source_type,
       source_id,
       array_agg(DISTINCT model_name ORDER BY model_name) AS models
  FROM embeddings
 GROUP BY source_type, source_id
HAVING count(DISTINCT model_name) > 1
   AND ($1::text IS NULL OR bool_or(model_name = $1))
 ORDER BY source_type, source_id
