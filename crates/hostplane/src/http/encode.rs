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

/// The REST body of a successful call. `with_schema`: add the `schema` map.
pub fn rest_body(out: &Output, with_schema: bool) -> Value {
    let mut body = Map::new();
    let mut schema = Map::new();
    match out {
        Output::Inventory(inv) => {
            body.insert("inventory".into(), Value::Object(inv.json.clone()));
            add_schema_of(&mut schema, "inventory", inv);
        }
        Output::Inventories { items, total } => {
            body.insert(
                "inventories".into(),
                Value::Array(
                    items
                        .iter()
                        .map(|i| Value::Object(i.json.clone()))
                        .collect(),
                ),
            );
            if let Some(t) = total {
                body.insert("total".into(), (*t).into());
            }
            for (i, inv) in items.iter().enumerate() {
                add_schema_of(&mut schema, &format!("inventories[{i}]"), inv);
            }
        }
        Output::Total(t) => {
            body.insert("total".into(), (*t).into());
        }
        Output::Empty => {}
        Output::Version(v) => {
            body.insert("version".into(), v.clone().into());
            body.insert("success".into(), true.into());
        }
        Output::Valid(b) => {
            body.insert("valid".into(), (*b).into());
        }
        Output::CurrentTime(ms) => {
            body.insert(
                "currentTime".into(),
                json!({"MillionSeconds": ms, "Seconds": ms / 1000}),
            );
            body.insert("success".into(), true.into());
        }
        Output::Architecture(a) => {
            body.insert("architecture".into(), a.clone().into());
            body.insert("success".into(), true.into());
        }
        Output::HypervisorTypes(t) => {
            body.insert("hypervisorTypes".into(), json!(t));
        }
    }
    if with_schema {
        body.insert("schema".into(), Value::Object(schema));
    }
    Value::Object(body)
}

/// The RPC `result` object: `{"<reply class>": {fields..., "success": bool, "error"?}}`.
pub fn rpc_result(reply_class: &str, result: &Result<Output, Error>) -> Value {
    let mut fields = Map::new();
    match result {
        Ok(out) => {
            match out {
                Output::Inventory(inv) => {
                    fields.insert("inventory".into(), Value::Object(inv.json.clone()));
                }
                Output::Inventories { items, total } => {
                    fields.insert(
                        "inventories".into(),
                        Value::Array(
                            items
                                .iter()
                                .map(|i| Value::Object(i.json.clone()))
                                .collect(),
                        ),
                    );
                    if let Some(t) = total {
                        fields.insert("total".into(), (*t).into());
                    }
                }
                Output::Total(t) => {
                    fields.insert("total".into(), (*t).into());
                }
                Output::Empty => {}
                Output::Version(v) => {
                    fields.insert("version".into(), v.clone().into());
                }
                Output::Valid(b) => {
                    fields.insert("validSession".into(), (*b).into());
                }
                Output::CurrentTime(ms) => {
                    fields.insert(
                        "currentTime".into(),
                        json!({"MillionSeconds": ms, "Seconds": ms / 1000}),
                    );
                }
                Output::Architecture(a) => {
                    fields.insert("architecture".into(), a.clone().into());
                }
                Output::HypervisorTypes(t) => {
                    fields.insert("hypervisorTypes".into(), json!(t));
                }
            }
            fields.insert("success".into(), true.into());
        }
        Err(e) => {
            fields.insert("success".into(), false.into());
            fields.insert("error".into(), e.to_error_code());
        }
    }
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
