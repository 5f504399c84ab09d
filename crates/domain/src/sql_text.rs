//! Writes the SQL text of a cacheable query once per process instead of on every call.
//!
//! diesel-async 0.10 prepares a statement once per connection, but it still asks the query to
//! write its SQL text on every call, because the text comes before the cache lookup. For the
//! 14-column append that was about 25,000 instructions a call (callgrind), most of it quoting
//! identifiers, against 14,900 for the whole append through tokio-postgres. A query whose
//! `QueryId` is static has the same text for every value (the statement cache relies on that
//! too), so [`CachedSqlText`] keeps that text per query type and hands it out again.
//!
//! Whether a query is safe to prepare once is kept per type as well. Finding out walks the
//! query's whole syntax tree, and diesel-async asks on every call. Saving those two walks took
//! the active prompt lookup from 24,650 to 23,564 instructions a call (callgrind), against
//! 14,522 through tokio-postgres. The answer for the first value of a type is taken for all of
//! its values. That holds for diesel 2.4: each of its fragments that refuses to be prepared
//! once does so whatever its values, and has no static `QueryId` besides.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use diesel::QueryResult;
use diesel::pg::{Pg, PgQueryBuilder};
use diesel::query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDslSupport;

/// The text of every query type seen so far, or `None` for a type that is not safe to prepare
/// once. It holds one entry per query type in the program, so it stays small; entries are never
/// removed.
static TEXTS: LazyLock<RwLock<HashMap<TypeId, Option<Arc<str>>>>> = LazyLock::new(RwLock::default);

/// A query that runs as `Q` does but writes its SQL text from the per-process copy.
#[derive(Debug, Clone)]
pub struct CachedSqlText<Q> {
    query: Q,
    /// `None` when `Q` has no static `QueryId` or is not safe to prepare once: its text may
    /// then depend on its values.
    text: Option<Arc<str>>,
}

/// Adds [`with_cached_sql_text`](SqlTextCache::with_cached_sql_text) to every query.
pub trait SqlTextCache: Sized {
    /// The same query, writing its SQL text from the per-process copy.
    fn with_cached_sql_text(self) -> CachedSqlText<Self>;
}

impl<Q> SqlTextCache for Q
where
    Q: QueryFragment<Pg> + QueryId,
{
    fn with_cached_sql_text(self) -> CachedSqlText<Self> {
        let text = Q::query_id().and_then(|type_id| text_of(type_id, &self));
        CachedSqlText { query: self, text }
    }
}

/// The stored text of the query type `type_id`, written from `query` the first time. A type
/// that is not safe to prepare once gets `None`, and so does a query that fails to write its
/// text; it then writes its own text, or fails again, when it runs.
fn text_of(type_id: TypeId, query: &impl QueryFragment<Pg>) -> Option<Arc<str>> {
    let stored = TEXTS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&type_id)
        .cloned();
    if let Some(text) = stored {
        return text;
    }

    // diesel's statement cache takes the same two conditions, a static `QueryId` and this
    // answer, as proof that the text of a query type never changes.
    let cacheable = query.is_safe_to_cache_prepared(&Pg).ok()?;
    let text = if cacheable {
        let mut builder = PgQueryBuilder::default();
        query.to_sql(&mut builder, &Pg).ok()?;
        Some(Arc::<str>::from(builder.finish()))
    } else {
        None
    };

    TEXTS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(type_id, text.clone());
    text
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for CachedSqlText<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn to_sql(&self, out: &mut PgQueryBuilder, backend: &Pg) -> QueryResult<()> {
        match &self.text {
            Some(text) => {
                out.push_sql(text);
                Ok(())
            }
            None => self.query.to_sql(out, backend),
        }
    }

    fn is_safe_to_cache_prepared(&self, backend: &Pg) -> QueryResult<bool> {
        // A text is only stored for a type that is safe to prepare once.
        match self.text {
            Some(_) => Ok(true),
            None => self.query.is_safe_to_cache_prepared(backend),
        }
    }
}

impl<Q: QueryId> QueryId for CachedSqlText<Q> {
    // The same statement as `Q` itself, so both share one prepared statement.
    type QueryId = Q::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: Query> Query for CachedSqlText<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDslSupport for CachedSqlText<Q> {}
