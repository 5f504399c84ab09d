//! The SQL that the reports need and diesel's DSL does not have, declared once and typed, so
//! that the reports built with the DSL stay checked by the compiler.

use diesel::QueryResult;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Double, Nullable};

/// `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`: the continuous percentile
/// (interpolating between the two nearest values) of a numeric expression, as an aggregate.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct PercentileCont<E> {
    fraction: f64,
    expression: E,
}

/// The continuous percentile `fraction` (0 to 1) of `expression` over each group.
pub fn percentile_cont<E>(fraction: f64, expression: E) -> PercentileCont<E> {
    PercentileCont {
        fraction,
        expression,
    }
}

impl<E: Expression> Expression for PercentileCont<E> {
    type SqlType = Nullable<Double>;
}

impl<E, GroupBy> ValidGrouping<GroupBy> for PercentileCont<E> {
    type IsAggregate = is_aggregate::Yes;
}

impl<E, QuerySource> AppearsOnTable<QuerySource> for PercentileCont<E> where
    E: AppearsOnTable<QuerySource>
{
}

impl<E, QuerySource> SelectableExpression<QuerySource> for PercentileCont<E> where
    E: SelectableExpression<QuerySource>
{
}

impl<E: QueryFragment<Pg>> QueryFragment<Pg> for PercentileCont<E> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("percentile_cont(");
        out.push_bind_param::<Double, f64>(&self.fraction)?;
        out.push_sql(") WITHIN GROUP (ORDER BY ");
        self.expression.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}
