-- What people thought of the answers: the signal that the reports and the training exports are
-- built from.
CREATE TABLE feedback (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    rating feedback_rating NOT NULL,
    comment text,
    categories text[] NOT NULL DEFAULT '{}',
    correction text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_categories_no_nulls CHECK (array_position(categories, NULL) IS NULL),
    CONSTRAINT feedback_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX feedback_message_id_idx ON feedback (message_id);
CREATE INDEX feedback_rating_idx ON feedback (rating);
CREATE INDEX feedback_created_at_idx ON feedback (created_at DESC);
-- Serves ON DELETE SET NULL when a user is erased.
CREATE INDEX feedback_user_id_idx ON feedback (user_id) WHERE user_id IS NOT NULL;

COMMENT ON TABLE feedback IS 'Ratings, comments and corrections that people gave on messages.';
COMMENT ON COLUMN feedback.id IS 'Time-ordered (v7) UUID.';
COMMENT ON COLUMN feedback.message_id IS 'The rated message; feedback goes when the message goes.';
COMMENT ON COLUMN feedback.user_id IS 'Who gave it; NULL once that user is erased.';
COMMENT ON COLUMN feedback.categories IS 'Labels for what was right or wrong, e.g. {inaccurate,too_long}.';
COMMENT ON COLUMN feedback.correction IS
    'The answer the rater says the assistant should have given; training data for SFT and DPO.';
COMMENT ON COLUMN feedback.metadata IS 'Free-form JSON object; the library refuses secrets in it.';
