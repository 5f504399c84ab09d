-- Which chunks were put in front of the model before it answered: the link that lets a bad answer
-- be traced back to the documents that fed it.
CREATE TABLE message_retrievals (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    embedding_id uuid NOT NULL REFERENCES embeddings (id),
    rank integer NOT NULL,
    score double precision NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_retrievals_pkey PRIMARY KEY (message_id, embedding_id),
    CONSTRAINT message_retrievals_message_rank_key UNIQUE (message_id, rank),
    CONSTRAINT message_retrievals_rank_positive CHECK (rank > 0),
    CONSTRAINT message_retrievals_score_finite
        CHECK (score NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)),
    CONSTRAINT message_retrievals_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- "Which answers did this chunk feed?", and the check behind deleting an embedding.
CREATE INDEX message_retrievals_embedding_id_idx ON message_retrievals (embedding_id);

COMMENT ON TABLE message_retrievals IS
    'The embedded chunks retrieved for a message before the model was called; one row per pair.';
COMMENT ON COLUMN message_retrievals.message_id IS 'The message whose generation used the chunk.';
COMMENT ON COLUMN message_retrievals.embedding_id IS
    'The chunk; an embedding that was retrieved cannot be deleted while the message exists.';
COMMENT ON COLUMN message_retrievals.rank IS 'Place in the retrieval result, 1 for the best match.';
COMMENT ON COLUMN message_retrievals.score IS 'The retriever''s similarity score; finite.';
COMMENT ON COLUMN message_retrievals.metadata IS
    'Free-form JSON object; the library refuses secrets in it.';
