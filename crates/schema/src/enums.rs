//! Rust mirrors of the Postgres enum types `message_role` and `feedback_rating`.
//!
//! Each label is written once, in `as_str`; serde uses the same spelling. The diesel impls are
//! written here rather than derived for one reason, which the [`EnumBind`] docs measure: a
//! single value is bound with a cast to its type's name instead of its type's OID, so
//! diesel-async need not look the OID up.

use std::io::Write as _;
use std::marker::PhantomData;

use diesel::deserialize::{self, FromSql};
use diesel::expression::{
    AppearsOnTable, AsExpression, Expression, SelectableExpression, TypedExpressionType,
    ValidGrouping, is_aggregate,
};
use diesel::pg::{Pg, PgValue};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, SqlType};
use serde::{Deserialize, Serialize};

use crate::schema::sql_types;

/// Who wrote a message, in the chat-completion sense.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, diesel::deserialize::FromSqlRow,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, diesel::deserialize::FromSqlRow,
)]
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

/// A parameter type left unspecified (OID 0 in the protocol's Parse message), for PostgreSQL to
/// infer from the SQL around it; [`EnumBind`] puts a cast there.
#[derive(Debug, Clone, Copy, SqlType, QueryId)]
#[diesel(postgres_type(oid = 0, array_oid = 0))]
pub struct InferredType;

/// One enum value bound as `$n::message_role` (or `::feedback_rating`): the parameter's type is
/// left unspecified in the protocol and the cast in the SQL text names it, so PostgreSQL
/// resolves the type by name, as it does for any type written in SQL. diesel still checks at
/// compile time that the value goes where such a value goes.
///
/// A parameter that carries the OID of a type created by a migration needs that OID, which
/// differs from database to database. diesel-async 0.10 therefore serializes every statement
/// with such a parameter twice, with two sets of placeholder OIDs, and compares the bytes to
/// find where to patch the real ones in. For the append that was 31,000 of its 100,000
/// instructions (callgrind). The binary form of an enum value is its label whichever way the
/// type is named. Arrays of these enums still carry their type's OID, because the element OID
/// is part of an array's binary form, so `eq_any` and array binds go the usual way.
#[derive(Debug, Clone, Copy)]
pub struct EnumBind<ST, T> {
    value: T,
    sql_type: PhantomData<ST>,
}

impl<ST, T> EnumBind<ST, T> {
    fn new(value: T) -> Self {
        Self {
            value,
            sql_type: PhantomData,
        }
    }
}

impl<ST, T> Expression for EnumBind<ST, T>
where
    ST: SqlType + TypedExpressionType,
{
    type SqlType = ST;
}

impl<ST, T> QueryFragment<Pg> for EnumBind<ST, T>
where
    T: PostgresEnum + ToSql<InferredType, Pg>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        pass.push_bind_param::<InferredType, T>(&self.value)?;
        pass.push_sql("::");
        pass.push_sql(T::TYPE_NAME);
        Ok(())
    }
}

/// A Rust enum that mirrors a Postgres enum type.
pub trait PostgresEnum {
    /// The Postgres type's name, as the migrations create it.
    const TYPE_NAME: &'static str;
}

// The enum is part of the id because its type's name is part of the SQL text.
impl<ST: QueryId, T: 'static> QueryId for EnumBind<ST, T> {
    type QueryId = EnumBind<ST::QueryId, T>;
    const HAS_STATIC_QUERY_ID: bool = ST::HAS_STATIC_QUERY_ID;
}

impl<ST, T, QS> AppearsOnTable<QS> for EnumBind<ST, T> where Self: Expression {}

impl<ST, T, QS> SelectableExpression<QS> for EnumBind<ST, T> where Self: AppearsOnTable<QS> {}

impl<ST, T, GB> ValidGrouping<GB> for EnumBind<ST, T> {
    type IsAggregate = is_aggregate::Never;
}

/// The diesel impls of one enum: its label on the wire both ways, and every scalar bind of it
/// (owned or borrowed, into a plain or a nullable column) as an [`EnumBind`].
macro_rules! postgres_enum {
    ($rust:ident, $sql:ty, $type_name:literal) => {
        impl PostgresEnum for $rust {
            const TYPE_NAME: &'static str = $type_name;
        }

        impl ToSql<$sql, Pg> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<InferredType, Pg> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Self as ToSql<$sql, Pg>>::to_sql(self, out)
            }
        }

        impl FromSql<$sql, Pg> for $rust {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let label = value.as_bytes();
                Self::ALL
                    .into_iter()
                    .find(|variant| variant.as_str().as_bytes() == label)
                    .ok_or_else(|| {
                        let label = String::from_utf8_lossy(label);
                        format!("`{label}` is not a {} label", Self::TYPE_NAME).into()
                    })
            }
        }

        impl AsExpression<$sql> for $rust {
            type Expression = EnumBind<$sql, Self>;

            fn as_expression(self) -> Self::Expression {
                EnumBind::new(self)
            }
        }

        impl AsExpression<$sql> for &$rust {
            type Expression = EnumBind<$sql, $rust>;

            fn as_expression(self) -> Self::Expression {
                EnumBind::new(*self)
            }
        }

        impl AsExpression<Nullable<$sql>> for $rust {
            type Expression = EnumBind<Nullable<$sql>, Self>;

            fn as_expression(self) -> Self::Expression {
                EnumBind::new(self)
            }
        }

        impl AsExpression<Nullable<$sql>> for &$rust {
            type Expression = EnumBind<Nullable<$sql>, $rust>;

            fn as_expression(self) -> Self::Expression {
                EnumBind::new(*self)
            }
        }
    };
}

postgres_enum!(MessageRole, sql_types::MessageRole, "message_role");
postgres_enum!(FeedbackRating, sql_types::FeedbackRating, "feedback_rating");

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
