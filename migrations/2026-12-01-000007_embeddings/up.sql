-- The vectors themselves live in a vector store; this table keeps what is needed to audit them:
-- which chunk of which source, embedded by which model, at which size, under which store id.
CREATE TABLE embeddings (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    source_type text NOT NULL,
    source_id text NOT NULL,
    chunk_index integer NOT NULL,
    chunk_text text NOT NULL,
    model_name text NOT NULL,
    dimensions integer NOT NULL,
    vector_store_id text,
    token_count integer,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Its index also serves lookups by (source_type, source_id), its leading columns, so no
    -- separate index on that pair is kept.
    CONSTRAINT embeddings_chunk_key UNIQUE (source_type, source_id, chunk_index, model_name),
    CONSTRAINT embeddings_chunk_index_not_negative CHECK (chunk_index >= 0),
    CONSTRAINT embeddings_dimensions_positive CHECK (dimensions > 0),
    CONSTRAINT embeddings_token_count_not_negative CHECK (token_count >= 0),
    CONSTRAINT embeddings_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- Per-model audits, and the check that a model's chunks share one size, read only this index.
CREATE INDEX embeddings_model_dimensions_idx ON embeddings (model_name, dimensions);

COMMENT ON TABLE embeddings IS
    'Metadata of each embedded chunk; the vector itself is kept in a vector store.';
COMMENT ON COLUMN embeddings.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN embeddings.source_type IS 'Kind of source the chunk comes from, e.g. document or faq.';
COMMENT ON COLUMN embeddings.source_id IS 'The source''s id in the application.';
COMMENT ON COLUMN embeddings.chunk_index IS 'Place of the chunk within its source, from 0.';
COMMENT ON COLUMN embeddings.chunk_text IS 'The text that was embedded.';
COMMENT ON COLUMN embeddings.model_name IS 'The embedding model.';
COMMENT ON COLUMN embeddings.dimensions IS 'Length of the vector; one value per model.';
COMMENT ON COLUMN embeddings.vector_store_id IS 'The vector''s id in the vector store.';
COMMENT ON COLUMN embeddings.token_count IS 'Tokens in chunk_text as counted by the embedding model.';
COMMENT ON COLUMN embeddings.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
