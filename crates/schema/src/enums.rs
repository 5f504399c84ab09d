//! Rust mirrors of the Postgres enum types `message_role` and `feedback_rating`.
//!
//! Both go through diesel's own enum derive, so the SQL labels are written down once (as the
//! snake_case of each variant) and serde uses the same spelling.

use serde::{Deserialize, Serialize};

use crate::schema::sql_types;

/// Who wrote a message, in the chat-completion sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, diesel::types::Enum)]
#[diesel(sql_type = sql_types::MessageRole, rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// Instructions that frame the conversation.
    System,
    /// What the person typed.
    User,
    /// What the model answered.
    Assistant,
    /// The result of a tool call that an assistant message asked for.
    Tool,
}

/// What a person thought of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, diesel::types::Enum)]
#[diesel(sql_type = sql_types::FeedbackRating, rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FeedbackRating {
    /// The answer was good.
    ThumbsUp,
    /// The answer was bad.
    ThumbsDown,
    /// Neither; often carries a comment or categories.
    Neutral,
}

impl MessageRole {
    /// Every role, in the order the Postgres type declares them.
    pub const ALL: [Self; 4] = [Self::System, Self::User, Self::Assistant, Self::Tool];

    /// The label PostgreSQL and serde use for this role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

impl FeedbackRating {
    /// Every rating, in the order the Postgres type declares them.
    pub const ALL: [Self; 3] = [Self::ThumbsUp, Self::ThumbsDown, Self::Neutral];

    /// The label PostgreSQL and serde use for this rating.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ThumbsUp => "thumbs_up",
            Self::ThumbsDown => "thumbs_down",
            Self::Neutral => "neutral",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_uses_the_postgres_labels() {
        for role in MessageRole::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<MessageRole>(&json).unwrap(), role);
        }
        for rating in FeedbackRating::ALL {
            let json = serde_json::to_string(&rating).unwrap();
            assert_eq!(json, format!("\"{}\"", rating.as_str()));
            assert_eq!(
                serde_json::from_str::<FeedbackRating>(&json).unwrap(),
                rating
            );
        }
    }

    #[test]
    fn serde_refuses_unknown_labels() {
        assert!(serde_json::from_str::<MessageRole>("\"developer\"").is_err());
        assert!(serde_json::from_str::<FeedbackRating>("\"ThumbsUp\"").is_err());
    }
}
