//! The tool calls an assistant message makes, typed, and stored in `messages.tool_calls` as a
//! JSON array of `{"id", "name", "arguments"}`.

use std::io::Write;

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{Output, ToSql};
use diesel::sql_types::Jsonb;
use serde::{Deserialize, Serialize};

/// One function call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the tool message that answers it repeats it.
    pub id: String,
    /// The function's name.
    pub name: String,
    /// The arguments as the model wrote them: usually an object, sometimes a JSON string.
    pub arguments: serde_json::Value,
}

impl ToolCall {
    /// A call of `name` with `arguments`, under the provider's call id `id`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

/// The tool calls of one assistant message, in the order the model made them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Jsonb)]
#[serde(transparent)]
pub struct ToolCalls(pub Vec<ToolCall>);

impl std::ops::Deref for ToolCalls {
    type Target = [ToolCall];

    fn deref(&self) -> &[ToolCall] {
        &self.0
    }
}

impl From<Vec<ToolCall>> for ToolCalls {
    fn from(calls: Vec<ToolCall>) -> Self {
        Self(calls)
    }
}

impl ToSql<Jsonb, Pg> for ToolCalls {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        // jsonb's binary format: a version byte, then the JSON text.
        out.write_all(&[1])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(diesel::serialize::IsNull::No)
    }
}

impl FromSql<Jsonb, Pg> for ToolCalls {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let json = <serde_json::Value as FromSql<Jsonb, Pg>>::from_sql(value)?;
        Ok(Self(serde_json::from_value(json)?))
    }
}
