//! `prompt_versions.variables` to and from jsonb: a JSON array of names in the database, a
//! list of names in Rust.

use std::io::Write;

use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Jsonb;

/// The declared variables of a prompt version, as diesel reads and writes them.
#[derive(Debug, Clone, PartialEq, Eq, Default, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Jsonb)]
pub struct VariableList(Vec<String>);

impl ToSql<Jsonb, Pg> for VariableList {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        out.write_all(&[1])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl FromSql<Jsonb, Pg> for VariableList {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let json = <serde_json::Value as FromSql<Jsonb, Pg>>::from_sql(value)?;
        Ok(Self(serde_json::from_value(json)?))
    }
}

impl From<Vec<String>> for VariableList {
    fn from(names: Vec<String>) -> Self {
        Self(names)
    }
}

impl From<VariableList> for Vec<String> {
    fn from(list: VariableList) -> Self {
        list.0
    }
}
