//! Feedback: what people thought of an answer, and the corrections that become training data.

use chatledger_schema::FeedbackRating;
use chatledger_schema::schema::feedback;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::guard;

/// Feedback as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = feedback, check_for_backend(diesel::pg::Pg))]
pub struct Feedback {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// The rated message.
    pub message_id: Uuid,
    /// Who gave it; `None` once that user is erased or when anonymous.
    pub user_id: Option<Uuid>,
    /// The rating.
    pub rating: FeedbackRating,
    /// A comment, if any.
    pub comment: Option<String>,
    /// Labels such as `inaccurate` or `too_long`.
    pub categories: Vec<String>,
    /// The answer the rater says the assistant should have given.
    pub correction: Option<String>,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When it was given.
    pub created_at: DateTime<Utc>,
}

/// Feedback to submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = feedback, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewFeedback {
    /// The id to record it under; [`NewFeedback::new`] makes a fresh v7 id.
    pub id: Uuid,
    /// The rated message, which must exist.
    pub message_id: Uuid,
    /// Who gives it, if known; must exist.
    pub user_id: Option<Uuid>,
    /// The rating.
    pub rating: FeedbackRating,
    /// A comment, if any.
    pub comment: Option<String>,
    /// Labels; none may be blank.
    pub categories: Vec<String>,
    /// The answer the assistant should have given, if the rater wrote one.
    pub correction: Option<String>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewFeedback {
    /// `rating` of `message_id` by `user_id`, with nothing else set.
    pub fn new(message_id: Uuid, user_id: Option<Uuid>, rating: FeedbackRating) -> Self {
        Self {
            id: Uuid::now_v7(),
            message_id,
            user_id,
            rating,
            comment: None,
            categories: Vec::new(),
            correction: None,
            metadata: serde_json::json!({}),
        }
    }

    /// The same feedback with a comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// The same feedback with a correction.
    pub fn with_correction(mut self, correction: impl Into<String>) -> Self {
        self.correction = Some(correction.into());
        self
    }

    /// The same feedback with `categories`.
    pub fn with_categories<S: Into<String>>(
        mut self,
        categories: impl IntoIterator<Item = S>,
    ) -> Self {
        self.categories = categories.into_iter().map(Into::into).collect();
        self
    }

    fn validate(&self) -> Result<(), Error> {
        guard::optional_text("comment", self.comment.as_deref())?;
        guard::optional_text("correction", self.correction.as_deref())?;
        for (index, category) in self.categories.iter().enumerate() {
            guard::name(&format!("categories[{index}]"), category)?;
        }
        guard::metadata("metadata", &self.metadata)
    }
}

/// Records feedback on a message. A missing message or user is [`Error::NotFound`].
#[tracing::instrument(
    name = "feedback.submit",
    skip_all,
    fields(feedback_id = %new.id, message_id = %new.message_id)
)]
pub async fn submit(conn: &mut AsyncPgConnection, new: NewFeedback) -> Result<Feedback, Error> {
    new.validate()?;

    let submitted = diesel::insert_into(feedback::table)
        .values(&new)
        .returning(Feedback::as_returning())
        .get_result(conn)
        .await?;
    Ok(submitted)
}

/// A message's feedback, oldest first.
#[tracing::instrument(name = "feedback.for_message", skip_all, fields(message_id = %message_id))]
pub async fn for_message(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
) -> Result<Vec<Feedback>, Error> {
    let rows = feedback::table
        .filter(feedback::message_id.eq(message_id))
        .order((feedback::created_at.asc(), feedback::id.asc()))
        .select(Feedback::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}
