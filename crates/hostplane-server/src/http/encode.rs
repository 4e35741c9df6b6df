//! How results and errors look on the wire — the one place that writes response bodies.
//!
//! REST: an [`Output`] becomes ZStack's `@RestResponse` shape (`{"inventory": ...}`,
//! `{"inventories": [...]}`, `{}` ...), with the `schema` map when the client sent
//! `X-JSON-Schema` and always on query replies; a domain [`Error`] becomes
//! `503 {"error": ErrorCode}`; protocol errors are plain text. RPC: an `Output` becomes the
//! reply class's fields plus `success`, serialised under the class name.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::domain::catalogue::{HW_STATUS_CLASS, HW_STATUS_FIELDS};
use crate::domain::{Inventory, Output};
use crate::error::Error;

const JSON: &str = "application/json;charset=UTF-8";

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    sized_json_response(status, body, 256)
}

/// A JSON response written into a buffer of `capacity` bytes to start with (a 1,000-host
/// answer is about 1.7 MB: growing a small buffer there copies it about 20 times).
pub fn sized_json_response(status: StatusCode, body: &impl Serialize, capacity: usize) -> Response {
    let mut bytes = Vec::with_capacity(capacity);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes = b"{}".to_vec();
    }
    let mut r = (status, bytes).into_response();
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

/// The `schema` map of a reply: each inventory's path and class, and the path of each hardware
/// status it carries. Written while serialising, so a 1,000-host answer builds no second map
/// of 11,000 entries.
struct Schema<'a>(&'a Output);

impl Serialize for Schema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let mut key = String::new();
        let mut one = |m: &mut S::SerializeMap, path: &str, inv: &Inventory| {
            m.serialize_entry(path, &inv.class)?;
            for f in HW_STATUS_FIELDS {
                if inv.json.get(*f).is_some_and(|v| !v.is_null()) {
                    key.clear();
                    let _ = write!(key, "{path}.{f}");
                    m.serialize_entry(&key, HW_STATUS_CLASS)?;
                }
            }
            Ok(())
        };
        match self.0 {
            Output::Inventory(inv) => one(&mut m, "inventory", inv)?,
            Output::Inventories { items, .. } => {
                let mut path = String::new();
                for (i, inv) in items.iter().enumerate() {
                    path.clear();
                    let _ = write!(path, "inventories[{i}]");
                    one(&mut m, &path, inv)?;
                }
            }
            _ => {}
        }
        m.end()
    }
}

/// A list of inventories, serialised from where they are.
struct Inventories<'a>(&'a [Inventory]);

impl Serialize for Inventories<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for inv in self.0 {
            seq.serialize_element(&inv.json)?;
        }
        seq.end()
    }
}

/// The REST body of a successful call: the reply's fields, and the `schema` map when asked.
pub struct RestBody<'a> {
    pub out: &'a Output,
    pub with_schema: bool,
}

impl RestBody<'_> {
    /// About how many bytes the body takes (2 KB per inventory with its schema entries).
    pub fn size_hint(&self) -> usize {
        match self.out {
            Output::Inventories { items, .. } => 256 + items.len() * 2048,
            _ => 2048,
        }
    }
}

impl Serialize for RestBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.out {
            Output::Inventory(inv) => m.serialize_entry("inventory", &inv.json)?,
            Output::Inventories { items, total } => {
                m.serialize_entry("inventories", &Inventories(items))?;
                if let Some(t) = total {
                    m.serialize_entry("total", t)?;
                }
            }
            other => {
                for (k, v) in reply_fields(other, Face::Rest) {
                    m.serialize_entry(&k, &v)?;
                }
            }
        }
        if self.with_schema {
            m.serialize_entry("schema", &Schema(self.out))?;
        }
        m.end()
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
        Output::Fields { fields, success } => {
            m.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            rest_success = *success;
        }
    }
    if face == Face::Rpc || rest_success {
        m.insert("success".into(), true.into());
    }
    m
}

/// The REST body of a successful call as a JSON value (the webhook's payload); responses
/// serialise [`RestBody`] directly.
pub fn rest_body(out: &Output, with_schema: bool) -> Value {
    serde_json::to_value(RestBody { out, with_schema }).unwrap_or_else(|_| json!({}))
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
