-- Prompt templates are versioned and never edited in place: an answer in the ledger must always
-- point at the exact text that produced it. One version per name may be active at a time.
CREATE TABLE prompt_versions (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    name text NOT NULL,
    version integer NOT NULL,
    template text NOT NULL,
    variables jsonb NOT NULL DEFAULT '[]',
    model_name text,
    is_active boolean NOT NULL DEFAULT false,
    notes text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT prompt_versions_name_version_key UNIQUE (name, version),
    CONSTRAINT prompt_versions_version_positive CHECK (version > 0),
    CONSTRAINT prompt_versions_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT prompt_versions_variables_is_array CHECK (jsonb_typeof(variables) = 'array'),
    CONSTRAINT prompt_versions_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- At most one active version per name, checked by PostgreSQL for every writer. The same index
-- answers "the active version of NAME" with a single probe.
CREATE UNIQUE INDEX prompt_versions_one_active_per_name ON prompt_versions (name) WHERE is_active;

-- Serves ON DELETE SET NULL when a user is erased.
CREATE INDEX prompt_versions_created_by_idx ON prompt_versions (created_by)
    WHERE created_by IS NOT NULL;

CREATE FUNCTION prompt_versions_refuse_content_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.template IS DISTINCT FROM OLD.template
        OR NEW.variables IS DISTINCT FROM OLD.variables
        OR NEW.model_name IS DISTINCT FROM OLD.model_name
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
    THEN
        RAISE EXCEPTION 'prompt version % of "%" is immutable: only is_active, notes and metadata may change',
                OLD.version, OLD.name
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'prompt_versions_content_immutable',
                  HINT = 'Publish a new version instead.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER prompt_versions_content_immutable
    BEFORE UPDATE ON prompt_versions
    FOR EACH ROW EXECUTE FUNCTION prompt_versions_refuse_content_change();

COMMENT ON TABLE prompt_versions IS
    'Immutable, numbered versions of each named prompt template; at most one active per name.';
COMMENT ON COLUMN prompt_versions.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN prompt_versions.name IS 'The prompt''s stable name, e.g. support-answer.';
COMMENT ON COLUMN prompt_versions.version IS
    'Version number within the name, from 1 upwards, assigned on publish.';
COMMENT ON COLUMN prompt_versions.template IS 'Template text with {{variable}} slots; immutable.';
COMMENT ON COLUMN prompt_versions.variables IS
    'JSON array of the variable names that the template''s slots use; immutable.';
COMMENT ON COLUMN prompt_versions.model_name IS 'The model this version was written for, if any.';
COMMENT ON COLUMN prompt_versions.is_active IS
    'Whether this is the version served for its name; at most one per name.';
COMMENT ON COLUMN prompt_versions.notes IS 'Free text for the people who maintain the prompt.';
COMMENT ON COLUMN prompt_versions.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
COMMENT ON COLUMN prompt_versions.created_by IS 'The user who published it; NULL once that user is erased.';
