//! How results and errors look on the wire — the one place that writes response bodies.
//!
//! REST: an [`Output`] becomes ZStack's `@RestResponse` shape (`{"inventory": ...}`,
//! `{"inventories": [...]}`, `{}` ...), with the `schema` map when the client sent
//! `X-JSON-Schema` and always on query replies; a domain [`Error`] becomes
//! `503 {"error": ErrorCode}`; protocol errors are plain text. RPC: an `Output` becomes the
//! reply class's fields plus `success`, serialised under the class name.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::domain::catalogue::{HW_STATUS_CLASS, HW_STATUS_FIELDS};
use crate::domain::{Inventory, Output};
use crate::error::Error;

const JSON: &str = "application/json;charset=UTF-8";

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// A plain-text protocol error (bad header, unknown path, wrong method, bad query syntax).
pub fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut r = (status, msg.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    r
}

/// `503 {"error": ErrorCode}`: how every failed API answers.
pub fn error_response(e: &Error) -> Response {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({ "error": e.to_error_code() }),
    )
}

fn add_schema_of(schema: &mut Map<String, Value>, path: &str, inv: &Inventory) {
    schema.insert(path.to_string(), Value::String(inv.class.clone()));
    for f in HW_STATUS_FIELDS {
        if inv.json.get(*f).is_some_and(|v| !v.is_null()) {
            schema.insert(format!("{path}.{f}"), Value::String(HW_STATUS_CLASS.into()));
        }
    }
}

/// Which face a reply is for: the two differ only in a few field names and `success`.
#[derive(Clone, Copy, PartialEq)]
enum Face {
    Rest,
    Rpc,
}

/// The reply's own fields (without `schema` or `error`).
fn reply_fields(out: &Output, face: Face) -> Map<String, Value> {
    let mut m = Map::new();
    let inventories = |items: &[Inventory]| {
        Value::Array(
            items
                .iter()
                .map(|i| Value::Object(i.json.clone()))
                .collect(),
        )
    };
    // REST maps a few replies with `fieldsTo={"all"}`, which copies the inherited `success`.
    let mut rest_success = false;
    match out {
        Output::Inventory(inv) => {
            m.insert("inventory".into(), Value::Object(inv.json.clone()));
        }
        Output::Inventories { items, total } => {
            m.insert("inventories".into(), inventories(items));
            if let Some(t) = total {
                m.insert("total".into(), (*t).into());
            }
        }
        Output::Total(t) => {
            m.insert("total".into(), (*t).into());
        }
        Output::Empty => {}
        Output::Version(v) => {
            m.insert("version".into(), v.clone().into());
            rest_success = true;
        }
        Output::Valid(b) => {
            // REST renames it (`fieldsTo={"valid=validSession"}`).
            let key = if face == Face::Rest {
                "valid"
            } else {
                "validSession"
            };
            m.insert(key.into(), (*b).into());
        }
        Output::CurrentTime(ms) => {
            m.insert(
                "currentTime".into(),
                json!({"MillionSeconds": ms, "Seconds": ms / 1000}),
            );
            rest_success = true;
        }
        Output::Architecture(a) => {
            m.insert("architecture".into(), a.clone().into());
            rest_success = true;
        }
        Output::HypervisorTypes(t) => {
            m.insert("hypervisorTypes".into(), json!(t));
        }
    }
    if face == Face::Rpc || rest_success {
        m.insert("success".into(), true.into());
    }
    m
}

/// The REST body of a successful call. `with_schema`: add the `schema` map.
pub fn rest_body(out: &Output, with_schema: bool) -> Value {
    let mut body = reply_fields(out, Face::Rest);
    if with_schema {
        let mut schema = Map::new();
        match out {
            Output::Inventory(inv) => add_schema_of(&mut schema, "inventory", inv),
            Output::Inventories { items, .. } => {
                for (i, inv) in items.iter().enumerate() {
                    add_schema_of(&mut schema, &format!("inventories[{i}]"), inv);
                }
            }
            _ => {}
        }
        body.insert("schema".into(), Value::Object(schema));
    }
    Value::Object(body)
}

/// The RPC `result` object: `{"<reply class>": {fields..., "success": bool, "error"?}}`.
pub fn rpc_result(reply_class: &str, result: &Result<Output, Error>) -> Value {
    let fields = match result {
        Ok(out) => reply_fields(out, Face::Rpc),
        Err(e) => {
            let mut m = Map::new();
            m.insert("success".into(), false.into());
            m.insert("error".into(), e.to_error_code());
            m
        }
    };
    let mut m = Map::new();
    m.insert(reply_class.to_string(), Value::Object(fields));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_only_present_paths() {
        let mut json = Map::new();
        json.insert("uuid".into(), "u".into());
        json.insert("cpuStatus".into(), "Normal".into());
        let inv = Inventory {
            class: "org.zstack.kvm.KVMHostInventory".into(),
            json,
        };
        let body = rest_body(
            &Output::Inventories {
                items: vec![inv],
                total: Some(1),
            },
            true,
        );
        assert_eq!(
            body["schema"]["inventories[0]"],
            "org.zstack.kvm.KVMHostInventory"
        );
        assert_eq!(body["schema"]["inventories[0].cpuStatus"], HW_STATUS_CLASS);
        assert!(body["schema"].get("inventories[0].memoryStatus").is_none());
        assert_eq!(body["total"], 1);
        assert_eq!(rest_body(&Output::Empty, false), json!({}));
        assert_eq!(rest_body(&Output::Empty, true), json!({"schema": {}}));
    }
}
