//! SQL generation: turns a checked `Plan` into one SELECT (and one COUNT) through sea-query,
//! rendered for SQLite (`?` placeholders) or PostgreSQL (`$N`).
//!
//! Identifiers come only from the catalogue, the fixed tag-table names, and the fixed
//! subquery aliases `e1`…; every value is bound. This module must never write SQL text by
//! hand or splice a value into it, and must never decide what a condition means (that is
//! `resolve`'s job): it translates the plan one to one.

use sea_query::{
    Asterisk, Expr, ExprTrait, LikeExpr, NullOrdering, Order, PostgresQueryBuilder,
    Query as SqlQuery, SelectStatement, SqliteQueryBuilder,
};

use crate::catalogue::{Catalogue, Field, Resource};
use crate::error::QueryError;
use crate::limits;
use crate::op::Op;
use crate::query::Query;
use crate::resolve::{self, Leaf, Plan, Predicate, Test};
use crate::value::Value;

/// The SQL dialect to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `?` placeholders. The connection must run `PRAGMA case_sensitive_like=ON`.
    Sqlite,
    /// `$1`, `$2`, … placeholders.
    Postgres,
}

/// One statement: SQL text plus the values for its placeholders, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL, with placeholders only where values go.
    pub sql: String,
    /// The values to bind, in placeholder order.
    pub values: Vec<Value>,
}

/// The compiled query.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The rows: `SELECT <fields> FROM t WHERE … ORDER BY … LIMIT ? [OFFSET ?]`.
    /// `None` when the query asked only for the count.
    pub select: Option<Statement>,
    /// `SELECT COUNT(*) FROM t WHERE …` (no limit, offset or order). `Some` when the query
    /// has `count` or `reply_with_count`.
    pub count: Option<Statement>,
    /// The selected fields in catalogue order (projection applied); the SELECT lists exactly
    /// their columns, in this order.
    pub fields: Vec<&'static Field>,
}

/// Subquery aliases, one per nesting level (expansions, then a tag table).
const ALIASES: [&str; limits::MAX_EXPANSION_DEPTH + 1] = ["e1", "e2", "e3", "e4", "e5", "e6"];

/// Checks `q` against the catalogue and compiles it for `backend`.
///
/// `resource` is the queried resource (normally one of `cat.resources`); `cat` is used to
/// follow expansions. See the crate docs for the semantics.
pub fn compile(
    cat: &Catalogue,
    resource: &'static Resource,
    q: &Query,
    backend: Backend,
) -> Result<Compiled, QueryError> {
    let plan = resolve::plan(cat, resource, q)?;
    if plan.fields.is_empty() {
        return Err(QueryError::Catalogue {
            message: format!("resource {} has no fields", resource.name),
        });
    }
    let wheres = plan
        .predicates
        .iter()
        .map(predicate_expr)
        .collect::<Result<Vec<_>, _>>()?;

    let select = if q.count {
        None
    } else {
        Some(render(&select_statement(&plan, &wheres), backend)?)
    };
    let count = if q.count || q.reply_with_count {
        let mut stmt = SqlQuery::select();
        stmt.expr(Expr::col(Asterisk).count()).from(resource.table);
        for w in &wheres {
            stmt.and_where(w.clone());
        }
        Some(render(&stmt, backend)?)
    } else {
        None
    };
    Ok(Compiled {
        select,
        count,
        fields: plan.fields,
    })
}

fn select_statement(plan: &Plan, wheres: &[Expr]) -> SelectStatement {
    let mut stmt = SqlQuery::select();
    for f in &plan.fields {
        stmt.column(f.column);
    }
    stmt.from(plan.resource.table);
    for w in wheres {
        stmt.and_where(w.clone());
    }
    let key = plan.resource.key;
    match plan.sort {
        // NULLs sort as in MySQL (ZStack's database): first when ascending.
        Some((field, desc)) => {
            let (order, nulls) = if desc {
                (Order::Desc, NullOrdering::Last)
            } else {
                (Order::Asc, NullOrdering::First)
            };
            stmt.order_by_with_nulls(field.column, order, nulls);
            if field.column != key {
                stmt.order_by(key, Order::Asc);
            }
        }
        None => {
            stmt.order_by(key, Order::Asc);
        }
    }
    stmt.limit(plan.limit);
    if let Some(offset) = plan.offset {
        stmt.offset(offset);
    }
    stmt
}

fn render(stmt: &SelectStatement, backend: Backend) -> Result<Statement, QueryError> {
    let (sql, values) = match backend {
        Backend::Sqlite => stmt.build(SqliteQueryBuilder),
        Backend::Postgres => stmt.build(PostgresQueryBuilder),
    };
    if values.0.len() > limits::MAX_BOUND_VALUES {
        return Err(QueryError::TooManyValues {
            count: values.0.len(),
            max: limits::MAX_BOUND_VALUES,
        });
    }
    let values = values
        .0
        .into_iter()
        .map(from_sea)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Statement { sql, values })
}

/// Converts a value sea-query collected. The compiler only creates strings and integers
/// (and sea-query the unsigned LIMIT / OFFSET), so anything else is a bug, reported rather
/// than panicking.
fn from_sea(v: sea_query::Value) -> Result<Value, QueryError> {
    use sea_query::Value as V;
    let int = |i: Option<i64>| i.map(Value::Int);
    let converted = match v {
        V::String(Some(s)) => Some(Value::Text(s)),
        V::BigInt(i) => int(i),
        V::Int(i) => int(i.map(i64::from)),
        V::SmallInt(i) => int(i.map(i64::from)),
        V::TinyInt(i) => int(i.map(i64::from)),
        V::Unsigned(i) => int(i.map(i64::from)),
        V::BigUnsigned(Some(u)) => i64::try_from(u).ok().map(Value::Int),
        _ => None,
    };
    converted.ok_or_else(|| QueryError::Catalogue {
        message: "the SQL builder produced a value of an unexpected type".to_owned(),
    })
}

fn alias(level: usize) -> Result<&'static str, QueryError> {
    ALIASES
        .get(level)
        .copied()
        .ok_or_else(|| QueryError::Catalogue {
            message: format!("subquery nesting {level} exceeds the limit"),
        })
}

/// A column, qualified with the subquery alias when inside one.
fn column(scope: Option<&'static str>, col: &'static str) -> Expr {
    match scope {
        Some(a) => Expr::col((a, col)),
        None => Expr::col(col),
    }
}

/// `level` 0 is the queried table (unqualified); level n is the n-th nested subquery.
fn scope(level: usize) -> Result<Option<&'static str>, QueryError> {
    match level {
        0 => Ok(None),
        n => alias(n - 1).map(Some),
    }
}

/// A predicate: the leaf test wrapped in one `local IN (SELECT target FROM t AS eN WHERE …)`
/// per expansion, innermost first.
fn predicate_expr(p: &Predicate) -> Result<Expr, QueryError> {
    let depth = p.hops.len();
    let mut expr = leaf_expr(&p.leaf, depth)?;
    for (level, hop) in p.hops.iter().enumerate().rev() {
        let inner = alias(level)?;
        let mut sub = SqlQuery::select();
        sub.column((inner, hop.expansion.target_column))
            .from_as(hop.target.table, inner)
            .and_where(expr);
        expr = column(scope(level)?, hop.expansion.local_column).in_subquery(sub);
    }
    Ok(expr)
}

fn leaf_expr(leaf: &Leaf, level: usize) -> Result<Expr, QueryError> {
    let here = scope(level)?;
    Ok(match leaf {
        Leaf::Column { column: col, test } => test_expr(|| column(here, col), test),
        Leaf::Tag {
            table,
            resource_type,
            key,
            has,
            test,
        } => {
            let t = alias(level)?;
            let mut sub = SqlQuery::select();
            sub.column((t, "resource_uuid"))
                .from_as(*table, t)
                .and_where(Expr::col((t, "resource_type")).eq(*resource_type));
            if let Some(test) = test {
                sub.and_where(test_expr(|| Expr::col((t, "tag")), test));
            }
            if *has {
                column(here, key).in_subquery(sub)
            } else {
                column(here, key).not_in_subquery(sub)
            }
        }
    })
}

fn test_expr(col: impl Fn() -> Expr, test: &Test) -> Expr {
    match test {
        Test::IsNull => col().is_null(),
        Test::NotNull => col().is_not_null(),
        Test::Never => never(),
        Test::Cmp(op, v) => {
            let v = to_sea(v);
            match op {
                Op::Eq => col().eq(v),
                Op::NotEq => col().ne(v),
                Op::Gt => col().gt(v),
                Op::Ge => col().gte(v),
                Op::Lt => col().lt(v),
                // Resolve only makes the six comparison ops; `<=` is the last.
                _ => col().lte(v),
            }
        }
        Test::InList { negate, items } => {
            let items = items.iter().map(to_sea);
            if *negate {
                col().is_not_in(items)
            } else {
                col().is_in(items)
            }
        }
        Test::Ranges { negate, ranges } => {
            let any = ranges
                .iter()
                .map(|&(lo, hi)| {
                    if lo == hi {
                        col().eq(lo)
                    } else {
                        col().gte(lo).and(col().lte(hi))
                    }
                })
                .reduce(|a, b| a.or(b))
                .unwrap_or_else(never);
            if *negate {
                any.not()
            } else {
                any
            }
        }
        Test::Like { negate, pattern } => {
            let like = LikeExpr::new(pattern.clone()).escape('\\');
            if *negate {
                col().not_like(like)
            } else {
                col().like(like)
            }
        }
    }
}

/// A condition no row meets, with bound operands (`? = ?` with 1, 0).
fn never() -> Expr {
    Expr::val(1_i64).eq(0_i64)
}

fn to_sea(v: &Value) -> sea_query::Value {
    match v {
        Value::Text(s) => s.clone().into(),
        Value::Int(i) => (*i).into(),
    }
}
