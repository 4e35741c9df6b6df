//! Runs the statements the query language compiles ([`hostplane_query::compile`]).
//!
//! A statement arrives as SQL text built only from catalogue identifiers plus a list of values
//! to bind; this module binds them and decodes each selected column by its catalogue type.
//! The columns are known only at run time, so rows are decoded by hand here rather than by a
//! `FromRow` derive.

use hostplane_query::{Field, FieldType, Statement, Value};
use sqlx::any::AnyArguments;
use sqlx::{Arguments, Row};

use super::Store;

/// One selected column's value, as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    /// Epoch milliseconds.
    Date(i64),
}

/// The statement's values, in order, as bind arguments.
fn arguments(values: &[Value]) -> sqlx::Result<AnyArguments<'_>> {
    let mut args = AnyArguments::default();
    for v in values {
        match v {
            Value::Text(s) => args.add(s.as_str()),
            Value::Int(i) => args.add(*i),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

impl Store {
    /// Run a compiled SELECT and decode its rows; `fields` are the selected columns in order.
    pub async fn query_rows(
        &self,
        stmt: &Statement,
        fields: &[&Field],
    ) -> sqlx::Result<Vec<Vec<Cell>>> {
        let rows = sqlx::query_with(stmt.sql.as_str(), arguments(&stmt.values)?)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        Ok(match f.ty {
                            FieldType::Text => r
                                .try_get::<Option<String>, _>(i)?
                                .map_or(Cell::Null, Cell::Text),
                            FieldType::Int => r
                                .try_get::<Option<i64>, _>(i)?
                                .map_or(Cell::Null, Cell::Int),
                            FieldType::Bool => r
                                .try_get::<Option<i64>, _>(i)?
                                .map_or(Cell::Null, |b| Cell::Bool(b != 0)),
                            FieldType::Date => r
                                .try_get::<Option<i64>, _>(i)?
                                .map_or(Cell::Null, Cell::Date),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// Run a compiled `SELECT COUNT(*)`.
    pub async fn query_count(&self, stmt: &Statement) -> sqlx::Result<i64> {
        sqlx::query_scalar_with(stmt.sql.as_str(), arguments(&stmt.values)?)
            .fetch_one(self.pool())
            .await
    }
}
