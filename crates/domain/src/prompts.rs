//! Prompt versions: immutable, numbered templates, one of which per name is served.
//!
//! Publishing and activating take an advisory lock on the prompt's name inside their
//! transaction, so concurrent publishers get consecutive version numbers and concurrent
//! activations leave exactly one active version. The partial unique index
//! `prompt_versions_one_active_per_name` stays as the backstop; its violation is a
//! [`Error::Conflict`]. Templates are checked against their declared variables on publish
//! (see [`crate::template`]), so a published version always renders.

mod variables;

use std::collections::BTreeMap;

use chatledger_schema::schema::prompt_versions;
use chrono::{DateTime, Utc};
use diesel::dsl::max;
use diesel::sql_types::Text;
use diesel::{
    ExpressionMethods, OptionalExtension, PgExpressionMethods, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use self::variables::VariableList;
use crate::error::{Error, InvalidReason};
use crate::guard;
use crate::sql_text::SqlTextCache;
use crate::template::{self, TemplateError};

/// A published prompt version.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = prompt_versions, check_for_backend(diesel::pg::Pg))]
pub struct PromptVersion {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// The prompt's name.
    pub name: String,
    /// Its number within the name, from 1.
    pub version: i32,
    /// Template text with `{{variable}}` slots.
    pub template: String,
    /// The variables the slots use, as declared on publish.
    #[diesel(deserialize_as = VariableList)]
    pub variables: Vec<String>,
    /// The model it was written for, if any.
    pub model_name: Option<String>,
    /// Whether this is the version served for its name.
    pub is_active: bool,
    /// Notes for the people who maintain it.
    pub notes: Option<String>,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// Who published it, while that user exists.
    pub created_by: Option<Uuid>,
    /// When it was published.
    pub created_at: DateTime<Utc>,
}

/// A prompt version to publish. [`publish`] assigns its number, inserting it with this row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = prompt_versions, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewPromptVersion {
    /// The id to publish it under; [`NewPromptVersion::new`] makes a fresh v7 id. Unused when
    /// an identical version already exists.
    pub id: Uuid,
    /// The prompt's name; not blank.
    pub name: String,
    /// Template text with `{{variable}}` slots.
    pub template: String,
    /// Exactly the names the template's slots use, each once.
    #[diesel(serialize_as = VariableList)]
    pub variables: Vec<String>,
    /// The model it was written for, if any.
    pub model_name: Option<String>,
    /// Notes for the people who maintain it.
    pub notes: Option<String>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
    /// Who publishes it, if known; must exist.
    pub created_by: Option<Uuid>,
}

impl NewPromptVersion {
    /// Version content `template` of `name` with slots `variables`, nothing else set.
    pub fn new(name: impl Into<String>, template: impl Into<String>, variables: &[&str]) -> Self {
        Self {
            id: Uuid::now_v7(),
            name: name.into(),
            template: template.into(),
            variables: variables.iter().map(|name| (*name).to_owned()).collect(),
            model_name: None,
            notes: None,
            metadata: serde_json::json!({}),
            created_by: None,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        guard::key("name", &self.name)?;
        guard::text("template", &self.template)?;
        guard::optional_text("model_name", self.model_name.as_deref())?;
        guard::optional_text("notes", self.notes.as_deref())?;
        guard::metadata("metadata", &self.metadata)?;
        for (index, variable) in self.variables.iter().enumerate() {
            if !template::is_variable_name(variable) {
                let rule = InvalidReason::Rule("a variable name is letters, digits and _");
                return Err(Error::invalid(format!("variables[{index}]"), rule));
            }
        }
        template::check_declaration(&self.template, &self.variables)?;
        Ok(())
    }
}

impl PromptVersion {
    /// Fills the template's slots. A declared variable without a value, or a value for a
    /// variable the version does not declare, is an error naming the variable.
    pub fn render<K, V>(
        &self,
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Result<String, TemplateError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let values: BTreeMap<String, String> = values
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        template::render(&self.template, &self.variables, &values)
    }
}

/// Publishes the next version of `new.name`, or returns the existing version whose template,
/// variables and model are identical. Race-free: concurrent publishers of one name take turns.
#[tracing::instrument(name = "prompts.publish", skip_all, fields(prompt = %new.name))]
pub async fn publish(
    conn: &mut AsyncPgConnection,
    new: NewPromptVersion,
) -> Result<PromptVersion, Error> {
    new.validate()?;

    conn.transaction::<_, Error, _>(async move |conn| {
        lock_name(conn, &new.name).await?;

        let identical = prompt_versions::table
            .filter(prompt_versions::name.eq(&new.name))
            .filter(prompt_versions::template.eq(&new.template))
            .filter(prompt_versions::model_name.is_not_distinct_from(&new.model_name))
            .select(PromptVersion::as_select())
            .order(prompt_versions::version.asc())
            .load(conn)
            .await?
            .into_iter()
            .find(|existing| existing.variables == new.variables);
        if let Some(existing) = identical {
            tracing::info!(
                version = existing.version,
                "identical version already published"
            );
            return Ok(existing);
        }

        let latest: Option<i32> = prompt_versions::table
            .filter(prompt_versions::name.eq(&new.name))
            .select(max(prompt_versions::version))
            .first(conn)
            .await?;
        let next_version = latest.unwrap_or(0).checked_add(1).ok_or(Error::Conflict {
            entity: "prompt version",
            reason: "every version number of this name is taken",
        })?;
        let published = diesel::insert_into(prompt_versions::table)
            .values((new, prompt_versions::version.eq(next_version)))
            .returning(PromptVersion::as_returning())
            .get_result(conn)
            .await?;
        tracing::info!(version = published.version, "prompt version published");
        Ok(published)
    })
    .await
}

/// Makes `version` the active version of `name` and returns it; the previously active one is
/// deactivated in the same transaction. A missing version is [`Error::NotFound`].
#[tracing::instrument(
    name = "prompts.activate",
    skip_all,
    fields(prompt = %name, version = version)
)]
pub async fn activate(
    conn: &mut AsyncPgConnection,
    name: &str,
    version: i32,
) -> Result<PromptVersion, Error> {
    guard::key("name", name)?;

    conn.transaction::<_, Error, _>(async move |conn| {
        lock_name(conn, name).await?;

        let target = get(conn, name, version).await?;
        if target.is_active {
            return Ok(target);
        }
        diesel::update(prompt_versions::table)
            .filter(prompt_versions::name.eq(name))
            .filter(prompt_versions::is_active.eq(true))
            .set(prompt_versions::is_active.eq(false))
            .execute(conn)
            .await?;
        let activated = diesel::update(prompt_versions::table.find(target.id))
            .set(prompt_versions::is_active.eq(true))
            .returning(PromptVersion::as_returning())
            .get_result(conn)
            .await?;
        Ok(activated)
    })
    .await
}

/// The active version of `name`: one probe of the partial unique index. A name with no active
/// version is [`Error::NotFound`].
#[tracing::instrument(name = "prompts.active", skip_all, fields(prompt = %name))]
pub async fn active(conn: &mut AsyncPgConnection, name: &str) -> Result<PromptVersion, Error> {
    guard::text("name", name)?;

    // `is_active` itself, not `is_active = $2`: the partial index's predicate must be in the
    // SQL text for a cached (generic) plan to use the index.
    prompt_versions::table
        .filter(prompt_versions::name.eq(name))
        .filter(prompt_versions::is_active)
        .select(PromptVersion::as_select())
        .limit(1)
        .with_cached_sql_text()
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::not_found("active prompt version", name))
}

/// Version `version` of `name`, or [`Error::NotFound`].
#[tracing::instrument(name = "prompts.get", skip_all, fields(prompt = %name, version = version))]
pub async fn get(
    conn: &mut AsyncPgConnection,
    name: &str,
    version: i32,
) -> Result<PromptVersion, Error> {
    guard::text("name", name)?;

    prompt_versions::table
        .filter(prompt_versions::name.eq(name))
        .filter(prompt_versions::version.eq(version))
        .select(PromptVersion::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::not_found("prompt version", format!("{name} v{version}")))
}

/// Every version of `name`, oldest first.
#[tracing::instrument(name = "prompts.versions", skip_all, fields(prompt = %name))]
pub async fn versions(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<Vec<PromptVersion>, Error> {
    guard::text("name", name)?;

    let rows = prompt_versions::table
        .filter(prompt_versions::name.eq(name))
        .order(prompt_versions::version.asc())
        .select(PromptVersion::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}

async fn lock_name(conn: &mut AsyncPgConnection, name: &str) -> Result<(), Error> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('chatledger.prompt:' || $1, 0))",
    )
    .bind::<Text, _>(name)
    .execute(conn)
    .await?;
    Ok(())
}
