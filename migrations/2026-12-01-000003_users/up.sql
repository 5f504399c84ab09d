-- Users are deliberately thin: the application's own auth system owns people, and chatledger
-- only keeps the id it knows them by, so that conversations and feedback have an owner.
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    external_id text NOT NULL,
    display_name text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_external_id_key UNIQUE (external_id),
    CONSTRAINT users_external_id_not_blank CHECK (btrim(external_id) <> ''),
    CONSTRAINT users_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE users IS
    'The people who hold conversations and give feedback, as known to the application''s auth system.';
COMMENT ON COLUMN users.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN users.external_id IS
    'The user''s id in the application''s own auth system; unique.';
COMMENT ON COLUMN users.display_name IS 'Optional name to show; personal data, erased with the user.';
COMMENT ON COLUMN users.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
