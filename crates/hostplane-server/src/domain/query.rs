//! Query operations (QueryZone, QueryCluster, QueryHost, QueryGlobalConfig,
//! QueryManagementNode): compile the query with the language crate, run it on the store, turn
//! rows into inventories.
//!
//! Inventories of zones, clusters and hosts are always built here, also for the replies of
//! create and update operations ([`inventory`]), so that every reply shows a resource the same
//! way a query does.

use hostplane_query::{compile, Condition, Field, Op, Query, Resource};
use serde_json::{Map, Value};

use super::catalogue::{self, row_class, CATALOGUE};
use super::{App, Inventory, Output};
use crate::error::{Error, Result};
use crate::store::query::Cell;
use crate::time::format_date;

/// Run a query of `resource` (a catalogue name).
pub async fn run(app: &App, resource: &str, q: &Query) -> Result<Output> {
    let r = catalogue::resource(resource)
        .ok_or_else(|| Error::internal(format!("no resource {resource}")))?;
    let compiled = compile(&CATALOGUE, r, q, app.store.backend()).map_err(|e| {
        if e.is_invalid_argument() {
            Error::invalid_argument(e.to_string())
        } else {
            Error::internal(e.to_string())
        }
    })?;
    let total = match &compiled.count {
        Some(stmt) => Some(app.store.query_count(stmt).await?),
        None => None,
    };
    let Some(select) = &compiled.select else {
        return Ok(Output::Total(total.unwrap_or(0)));
    };
    let rows = app.store.query_rows(select, &compiled.fields).await?;
    let items = rows
        .into_iter()
        .map(|row| to_inventory(r, &compiled.fields, row))
        .collect();
    Ok(Output::Inventories { items, total })
}

/// Turn one row into an inventory: dates in ZStack's format, null fields left out.
pub fn to_inventory(r: &Resource, fields: &[&Field], row: Vec<Cell>) -> Inventory {
    let mut json = Map::with_capacity(fields.len());
    for (f, cell) in fields.iter().zip(row) {
        let v = match cell {
            Cell::Null => continue,
            Cell::Text(s) => Value::String(s),
            Cell::Int(i) => Value::from(i),
            Cell::Bool(b) => Value::Bool(b),
            Cell::Date(ms) => Value::String(format_date(ms)),
        };
        json.insert(f.name.to_string(), v);
    }
    Inventory {
        class: row_class(r).to_string(),
        json,
    }
}

/// The inventory of one resource by uuid, as QueryX would show it.
pub async fn inventory(app: &App, r: &'static Resource, uuid: &str) -> Result<Option<Inventory>> {
    let q = Query {
        conditions: vec![Condition {
            field: "uuid".into(),
            op: Op::Eq,
            value: Some(uuid.to_string()),
        }],
        ..Query::default()
    };
    match run(app, r.name, &q).await? {
        Output::Inventories { mut items, .. } => Ok(items.pop()),
        _ => Ok(None),
    }
}

/// Like [`inventory`], but a missing resource is an error (it was deleted under us).
pub async fn inventory_of(app: &App, r: &'static Resource, uuid: &str) -> Result<Inventory> {
    inventory(app, r, uuid).await?.ok_or_else(|| {
        Error::not_found(format!(
            "cannot find {}[uuid:{uuid}], it may have been deleted",
            r.name
        ))
    })
}
