-- Chunks, sources and vector sizes per embedding model. $1 model name (text), NULL for all.
-- embeddings_model_dimensions_idx holds (model_name, dimensions); the sources need the table.
SELECT model_name,
       count(*) AS chunks,
       count(DISTINCT (source_type, source_id)) AS sources,
       array_agg(DISTINCT dimensions ORDER BY dimensions) AS dimensions,
       count(DISTINCT dimensions) > 1 AS mixed_dimensions
  FROM embeddings
 WHERE ($1::text IS NULL OR model_name = $1)
 GROUP BY model_name
 ORDER BY model_name
