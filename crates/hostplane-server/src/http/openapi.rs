//! The OpenAPI 3.1 description of the REST face, generated from the tables that drive it —
//! never written by hand: [`crate::domain::api::APIS`] (names, message classes, sync or async,
//! session or not, every parameter with its type and rules), [`super::routes::ROUTES`] (method
//! and path of each API) and [`crate::domain::catalogue`] (the fields a query can filter, sort
//! and select, and what each inventory holds).
//!
//! It describes ZStack's REST conventions as hostplane serves them: POST bodies
//! `{"params": {...}}`, PUT actions `{"<actionName>": {...}}` (a path shared by several actions
//! takes one of them: `oneOf`), GET and DELETE parameters in the query string; the query APIs'
//! `q`, `limit`, `start`, `count`, `replyWithCount`, `sort`, `fields`, `groupBy`,
//! `filterName`; the session header (`Authorization: OAuth <session uuid>`); asynchronous APIs
//! answering `202 {"location", "apiTimeout"}` with the result polled at `GET /api-jobs/{uuid}`;
//! failures as `503 {"error": ErrorCode}` and protocol errors as plain-text 400s. Every
//! operation names the ZStack APIs it carries (`x-zstack-apis`).
//!
//! Served at `GET /zstack/v1/openapi.json` (no session); `docs/openapi.json` is the same
//! document, committed, and a test fails when it is not current
//! (`HOSTPLANE_BLESS=1 cargo test -p hostplane-server openapi` rewrites it).
//! Nothing is written by hand per API: the reply shape comes from the answer each entry of the
//! API table declares (`domain::api::Answer`), which every call checks in debug builds.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hostplane_query::{FieldType, Resource};
use serde_json::{json, Map, Value};

use super::routes::{action_name, Route, ROUTES};
use crate::domain::api::{Answer, ApiSpec, Kind, Param, ParamType, APIS};
use crate::domain::catalogue::{self, row_class, CATALOGUE};
use crate::domain::App;

/// `GET /zstack/v1/openapi.json`.
pub async fn serve(State(_): State<Arc<App>>) -> Response {
    let mut r = (StatusCode::OK, document_text()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The document as the committed file holds it (pretty, with a final newline).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).expect("a JSON document");
    s.push('\n');
    s
}

/// The schema name of a catalogue resource's inventory: its class's last segment.
fn inventory_schema(r: &Resource) -> &'static str {
    let class = row_class(r);
    class.rsplit('.').next().unwrap_or(class)
}

fn resource_schema(name: &str) -> Option<&'static str> {
    catalogue::resource(name).map(inventory_schema)
}

/// The inventory schema an API's answer carries (None: it carries none). Err: the answer
/// names a resource without an inventory schema, which a test rules out.
pub fn answer_inventory(api: &ApiSpec) -> Result<Option<&'static str>, String> {
    let of = |resource: &str| {
        resource_schema(resource)
            .map(Some)
            .ok_or_else(|| format!("{}: no inventory schema for {resource}", api.name))
    };
    match api.answer {
        Answer::Inventory(resource) => of(resource),
        Answer::Inventories => of(api.query.unwrap_or_default()),
        Answer::Session => Ok(Some("SessionInventory")),
        Answer::Account => Ok(Some("AccountInventory")),
        _ => Ok(None),
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The `{var}` names of a path template.
fn path_vars(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn camel(s: &str) -> String {
    s.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// The JSON schema of one parameter, with its rules.
fn param_schema(p: &Param) -> Value {
    let mut s = Map::new();
    let mut notes: Vec<String> = Vec::new();
    match p.ty {
        ParamType::Str => {
            s.insert("type".into(), "string".into());
            if let Some(m) = p.max_len {
                s.insert("maxLength".into(), m.into());
            }
            if !p.empty_ok {
                s.insert("minLength".into(), 1.into());
            }
            if !p.valid_values.is_empty() {
                s.insert("enum".into(), json!(p.valid_values));
            }
        }
        ParamType::Int => {
            s.insert("type".into(), "integer".into());
            s.insert("format".into(), "int64".into());
            if let Some((lo, hi)) = p.range {
                s.insert("minimum".into(), lo.into());
                s.insert("maximum".into(), hi.into());
            }
        }
        ParamType::Bool => {
            s.insert("type".into(), "boolean".into());
        }
        ParamType::StrList => {
            s.insert("type".into(), "array".into());
            s.insert("items".into(), json!({"type": "string"}));
        }
        ParamType::Map => {
            s.insert("type".into(), "object".into());
        }
    }
    if let Some(r) = p.resource {
        notes.push(format!(
            "the uuid of an existing {}",
            r.vo().trim_end_matches("VO")
        ));
        s.insert("x-zstack-resource".into(), r.vo().into());
    }
    if p.secret {
        s.insert("format".into(), "password".into());
        s.insert("writeOnly".into(), true.into());
        notes.push("secret: never logged or returned".into());
    }
    if !notes.is_empty() {
        let mut d = notes.join("; ");
        d.push('.');
        d = d[..1].to_uppercase() + &d[1..];
        s.insert("description".into(), d.into());
    }
    Value::Object(s)
}

/// The `<Api>Params` schema: the parameters a body carries (URL variables excluded).
fn params_schema(api: &ApiSpec, in_path: &[&str]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in api.params.iter().filter(|p| !in_path.contains(&p.name)) {
        props.insert(p.name.into(), param_schema(p));
        if p.required {
            required.push(p.name);
        }
    }
    let mut s = json!({
        "type": "object",
        "description": format!("The parameters of {} ({}).", api.name, api.msg_class),
        "properties": props,
    });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

fn field_schema(f: &hostplane_query::Field) -> Value {
    match f.ty {
        FieldType::Text => json!({"type": "string"}),
        FieldType::Int => json!({"type": "integer", "format": "int64"}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Date => json!({
            "type": "string",
            "description": "A date as ZStack prints it, in the server's time zone: 'Nov 30, 2026 3:09:11 AM'.",
        }),
    }
}

/// The inventory schema of a catalogue resource: every field, all optional (null fields are
/// left out, and `fields=` selects some).
fn resource_inventory(r: &Resource) -> Value {
    let props: Map<String, Value> = r
        .fields
        .iter()
        .map(|f| {
            let mut s = field_schema(f);
            if let Some(t) = f.only_for_type {
                s["x-hostplane-only-for"] = json!(format!("{}={t}", r.type_field.unwrap_or("")));
            }
            (f.name.to_string(), s)
        })
        .collect();
    json!({
        "type": "object",
        "description": format!("A {} as queries and replies show it ({}).", r.name, row_class(r)),
        "x-zstack-class": row_class(r),
        "properties": props,
    })
}

fn reply_schema(api: &ApiSpec) -> Value {
    let d = format!("The reply of {} ({}).", api.name, api.reply_class);
    let with = |props: Value, required: &[&str]| {
        let mut s = json!({"type": "object", "description": d, "properties": props});
        if !required.is_empty() {
            s["required"] = json!(required);
        }
        s
    };
    let schema_map = json!({
        "type": "object",
        "description": "With the header X-JSON-Schema (always on queries): the ZStack class of each inventory, by its path in the reply.",
        "additionalProperties": {"type": "string"},
    });
    let inventory = answer_inventory(api)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    match api.answer {
        Answer::Inventory(_) | Answer::Session | Answer::Account => with(
            json!({"inventory": schema_ref(inventory), "schema": schema_map}),
            &["inventory"],
        ),
        Answer::Inventories => with(
            json!({
                "inventories": {"type": "array", "items": schema_ref(inventory)},
                "total": {"type": "integer", "format": "int64", "description": "With count=true (alone) or replyWithCount=true: how many match, ignoring limit and start."},
                "schema": schema_map,
            }),
            &[],
        ),
        Answer::Empty => with(json!({"schema": schema_map}), &[]),
        Answer::Version => with(
            json!({"version": {"type": "string"}, "success": {"type": "boolean"}}),
            &["version"],
        ),
        Answer::Valid => with(json!({"valid": {"type": "boolean"}}), &["valid"]),
        Answer::Results => with(
            json!({
                "results": {"description": "One entry per host, row or finding (see docs/api.md)."},
                "success": {"type": "boolean"},
            }),
            &[],
        ),
        Answer::CurrentTime => with(
            json!({
                "currentTime": {
                    "type": "object",
                    "properties": {
                        "MillionSeconds": {"type": "integer", "format": "int64", "description": "Epoch milliseconds."},
                        "Seconds": {"type": "integer", "format": "int64"},
                    },
                    "required": ["MillionSeconds", "Seconds"],
                },
                "success": {"type": "boolean"},
            }),
            &["currentTime"],
        ),
        Answer::Architecture => with(
            json!({"architecture": {"type": "string"}, "success": {"type": "boolean"}}),
            &["architecture"],
        ),
        Answer::HypervisorTypes => with(
            json!({"hypervisorTypes": {"type": "array", "items": {"type": "string"}}}),
            &["hypervisorTypes"],
        ),
    }
}

/// The query-string parameters of a query API over `r`.
fn query_parameters(r: &Resource) -> Vec<Value> {
    let names: Vec<&str> = r.fields.iter().map(|f| f.name).collect();
    let expansions: Vec<String> = r
        .expansions
        .iter()
        .map(|e| format!("{}.<field of {}>", e.name, e.target))
        .collect();
    let mut paths = names.join(", ");
    if !expansions.is_empty() {
        paths.push_str(", ");
        paths.push_str(&expansions.join(", "));
    }
    if r.tag_resource_type.is_some() {
        paths.push_str(", __systemTag__, __userTag__");
    }
    let fields_alt = names.join("|");
    let int = |name: &str, d: &str| {
        json!({"name": name, "in": "query", "required": false, "description": d,
               "schema": {"type": "integer", "format": "int64", "minimum": 0}})
    };
    let boolean = |name: &str, d: &str| {
        json!({"name": name, "in": "query", "required": false, "description": d,
               "schema": {"type": "boolean"}})
    };
    vec![
        json!({
            "name": "q", "in": "query", "required": false, "style": "form", "explode": true,
            "description": format!(
                "One condition per q (ANDed): <path><op><value>, op one of != >= <= !?= !~= ~= ?= = > < \
                 (?= and !?= take a comma list, ~= and !~= a LIKE pattern with % and _), or \
                 '<path> is null' / '<path> not null'. Paths: {paths}."
            ),
            "schema": {"type": "array", "items": {"type": "string"}},
            "x-hostplane-query-fields": r.fields.iter().map(|f| json!({"name": f.name, "type": f.ty.to_string()})).collect::<Vec<_>>(),
        }),
        int("limit", "At most this many inventories (default 1000)."),
        int("start", "Skip this many inventories first."),
        boolean("count", "Answer {\"total\": n} only."),
        boolean("replyWithCount", "Add \"total\" to the inventories."),
        json!({
            "name": "sort", "in": "query", "required": false,
            "description": "+field (ascending, the default) or -field (descending); the SDKs' sortBy and sortDirection. The key breaks ties.",
            "schema": {"type": "string", "pattern": format!("^[+-]?({fields_alt})$")},
        }),
        json!({
            "name": "fields", "in": "query", "required": false,
            "description": format!("Comma-separated fields to return (default all): {}.", names.join(", ")),
            "schema": {"type": "string"},
        }),
        json!({"name": "groupBy", "in": "query", "required": false, "description": "Accepted and ignored (as in ZStack).", "schema": {"type": "string"}}),
        json!({"name": "filterName", "in": "query", "required": false, "description": "name:value; checked, otherwise ignored.", "schema": {"type": "string"}}),
    ]
}

fn header_param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

/// A human name for a PUT path shared by several actions: `/hosts/{uuid}/actions` → `HostActions`.
fn shared_operation_id(path: &str) -> String {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let singular = first.strip_suffix('s').unwrap_or(first);
    format!("{}Actions", camel(singular))
}

/// One operation: the APIs of one (method, path).
fn operation(method: &str, path: &str, apis: &[&'static ApiSpec], op_id: String) -> Value {
    let vars = path_vars(path);
    let first = apis[0];
    let tag = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let mut params: Vec<Value> = vars
        .iter()
        .map(|v| {
            let described = first
                .param(v)
                .map(param_schema)
                .unwrap_or_else(|| json!({"type": "string"}));
            json!({"name": v, "in": "path", "required": true, "schema": described})
        })
        .collect();
    let is_query = first.query.is_some();
    if let Some(r) = first.query.and_then(catalogue::resource) {
        if vars.is_empty() {
            params.extend(query_parameters(r));
        }
    } else if method == "get" || method == "delete" {
        for p in first.params.iter().filter(|p| !vars.contains(&p.name)) {
            let mut q = json!({"name": p.name, "in": "query", "required": p.required, "schema": param_schema(p)});
            match p.ty {
                ParamType::StrList => {
                    q["style"] = "form".into();
                    q["explode"] = true.into();
                }
                ParamType::Map => {
                    q["description"] =
                        format!("Sent as {}.<key>=<value>, one pair per key.", p.name).into();
                    q["x-hostplane-style"] = "dotted".into();
                }
                _ => {}
            }
            params.push(q);
        }
    }
    let is_async = apis.iter().any(|a| a.kind == Kind::Async);
    if is_async {
        for h in ["X-Job-UUID", "X-Web-Hook", "X-API-Timeout"] {
            params.push(header_param(h));
        }
    }
    params.push(header_param("X-JSON-Schema"));

    let mut o = Map::new();
    o.insert("operationId".into(), op_id.into());
    o.insert("tags".into(), json!([tag]));
    let names: Vec<&str> = apis.iter().map(|a| a.name).collect();
    o.insert("summary".into(), names.join(" | ").into());
    let mut description = String::new();
    for a in apis {
        let origin = if a.msg_class.starts_with("org.zstack.hostplane.") {
            "hostplane's addition"
        } else {
            "ZStack"
        };
        description.push_str(&format!(
            "{} ({origin}: {} → {}){}. ",
            a.name,
            a.msg_class.rsplit('.').next().unwrap_or(a.msg_class),
            a.reply_class.rsplit('.').next().unwrap_or(a.reply_class),
            if apis.len() > 1 {
                format!(", body key `{}`", action_name(a.name))
            } else {
                String::new()
            }
        ));
    }
    if is_async {
        description.push_str(
            "Asynchronous: answers 202 with the job's location; GET it (/api-jobs/{uuid}, no session) until it is not 202: \
             200 with the reply below, or 503 with the error.",
        );
    }
    o.insert("description".into(), description.trim().into());
    o.insert(
        "x-zstack-apis".into(),
        apis.iter()
            .map(|a| {
                json!({"name": a.name, "message": a.msg_class, "reply": a.reply_class,
                       "async": a.kind == Kind::Async, "session": a.needs_session})
            })
            .collect::<Vec<_>>()
            .into(),
    );
    o.insert("parameters".into(), params.into());
    if !first.needs_session {
        o.insert("security".into(), json!([]));
    }
    // The body.
    if method == "post" || method == "put" {
        let alternatives: Vec<Value> = apis
            .iter()
            .map(|a| {
                let p = schema_ref(&format!("{}Params", a.name));
                let (key, required) = if method == "post" {
                    ("params".to_string(), true)
                } else {
                    (action_name(a.name), true)
                };
                let mut props = Map::new();
                props.insert(key.clone(), p);
                props.insert("systemTags".into(), json!({"type": "array", "items": {"type": "string"}, "description": "Also accepted here, outside the parameters (they win)."}));
                props.insert("userTags".into(), json!({"type": "array", "items": {"type": "string"}}));
                let mut s = json!({"type": "object", "title": a.name, "properties": props});
                if required {
                    s["required"] = json!([key]);
                }
                s
            })
            .collect();
        let schema = if alternatives.len() == 1 {
            alternatives.into_iter().next().expect("one")
        } else {
            json!({ "oneOf": alternatives })
        };
        o.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
    }
    // The answers.
    let mut responses = Map::new();
    let replies: Vec<Value> = apis
        .iter()
        .map(|a| schema_ref(&format!("{}Reply", a.name)))
        .collect();
    let reply = if replies.len() == 1 {
        replies[0].clone()
    } else {
        json!({ "oneOf": replies })
    };
    if is_async {
        responses.insert(
            "202".into(),
            json!({
                "description": "Accepted: the call runs as a job. Poll its location (GET /api-jobs/{uuid}): 202 {} while it runs, then the reply (200) or the error (503).",
                "content": {"application/json": {"schema": schema_ref("JobAccepted")}},
                "x-hostplane-job-result": reply,
            }),
        );
    } else {
        responses.insert(
            "200".into(),
            json!({"description": "The reply.", "content": {"application/json": {"schema": reply}}}),
        );
        responses.insert(
            "503".into(),
            json!({"$ref": "#/components/responses/Failed"}),
        );
    }
    responses.insert(
        "400".into(),
        json!({"$ref": "#/components/responses/BadRequest"}),
    );
    if is_query && !vars.is_empty() {
        o.insert(
            "x-hostplane-note".into(),
            "By uuid: one condition; every other query parameter is ignored.".into(),
        );
    }
    o.insert("responses".into(), Value::Object(responses));
    Value::Object(o)
}

/// The whole document.
pub fn document() -> Value {
    // (path → method → APIs), in the route table's order.
    let mut order: Vec<&'static str> = Vec::new();
    let mut by_path: BTreeMap<&str, Vec<(&str, Vec<&'static ApiSpec>)>> = BTreeMap::new();
    let method_of = |r: &Route| r.method.as_str().to_ascii_lowercase();
    let mut method_names: BTreeMap<String, &'static str> = BTreeMap::new();
    for m in ["get", "post", "put", "delete"] {
        method_names.insert(m.to_string(), m);
    }
    for r in ROUTES {
        let api = crate::domain::api::by_name(r.api).expect("every route names an API");
        let m = method_names[&method_of(r)];
        if !order.contains(&r.path) {
            order.push(r.path);
        }
        let methods = by_path.entry(r.path).or_default();
        match methods.iter_mut().find(|(mm, _)| *mm == m) {
            Some((_, apis)) => apis.push(api),
            None => methods.push((m, vec![api])),
        }
    }
    let mut paths = Map::new();
    let mut used_ids: Vec<String> = Vec::new();
    for path in order {
        let mut item = Map::new();
        for (m, apis) in &by_path[path] {
            let id = if apis.len() > 1 {
                shared_operation_id(path)
            } else {
                let vars = path_vars(path);
                let first_route = ROUTES
                    .iter()
                    .find(|r| r.api == apis[0].name)
                    .expect("routed");
                if first_route.path == path || vars.is_empty() {
                    apis[0].name.to_string()
                } else {
                    format!(
                        "{}By{}",
                        apis[0].name,
                        vars.iter().map(|v| camel(v)).collect::<String>()
                    )
                }
            };
            assert!(!used_ids.contains(&id), "operationId {id} twice");
            used_ids.push(id.clone());
            item.insert(m.to_string(), operation(m, path, apis, id));
        }
        paths.insert(path.to_string(), Value::Object(item));
    }
    paths.insert("/api-jobs/{uuid}".into(), job_poll());

    let mut schemas = Map::new();
    schemas.insert("ErrorCode".into(), json!({
        "type": "object",
        "description": "ZStack's ErrorCode: a stable code, its fixed description, the details, the cause it wraps, and machine-readable extras (opaque: for a failed host connect, step, reason, hint).",
        "properties": {
            "code": {"type": "string", "examples": ["SYS.1007", "HOST.1002"]},
            "description": {"type": "string"},
            "details": {"type": "string"},
            "cause": {"$ref": "#/components/schemas/ErrorCode"},
            "opaque": {"type": "object"},
        },
        "required": ["code", "description"],
    }));
    schemas.insert(
        "ErrorReply".into(),
        json!({"type": "object", "properties": {"error": schema_ref("ErrorCode")}, "required": ["error"]}),
    );
    schemas.insert("JobAccepted".into(), json!({
        "type": "object",
        "properties": {
            "location": {"type": "string", "format": "uri", "description": "Where to poll: .../api-jobs/{uuid}."},
            "apiTimeout": {"type": "integer", "format": "int64", "description": "Milliseconds the job may run (X-API-Timeout, else the API's own)."},
        },
        "required": ["location", "apiTimeout"],
    }));
    schemas.insert("SessionInventory".into(), json!({
        "type": "object",
        "x-zstack-class": crate::domain::identity::SESSION_CLASS,
        "properties": {
            "uuid": {"type": "string", "description": "The session: send it as Authorization: OAuth <uuid>."},
            "accountUuid": {"type": "string"},
            "userUuid": {"type": "string"},
            "userType": {"type": "string"},
            "expiredDate": field_schema(&hostplane_query::Field { name: "", column: "", ty: FieldType::Date, only_for_type: None }),
            "createDate": field_schema(&hostplane_query::Field { name: "", column: "", ty: FieldType::Date, only_for_type: None }),
        },
        "required": ["uuid"],
    }));
    schemas.insert("AccountInventory".into(), json!({
        "type": "object",
        "x-zstack-class": crate::domain::identity::ACCOUNT_CLASS,
        "properties": {
            "uuid": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "type": {"type": "string", "description": "SystemAdmin or Normal."},
            "createDate": field_schema(&hostplane_query::Field { name: "", column: "", ty: FieldType::Date, only_for_type: None }),
            "lastOpDate": field_schema(&hostplane_query::Field { name: "", column: "", ty: FieldType::Date, only_for_type: None }),
        },
        "required": ["uuid", "name", "type"],
    }));
    for r in CATALOGUE.resources {
        schemas.insert(inventory_schema(r).into(), resource_inventory(r));
    }
    for api in APIS {
        if api.query.is_none() {
            let vars: Vec<&str> = ROUTES
                .iter()
                .filter(|r| r.api == api.name)
                .flat_map(|r| path_vars(r.path))
                .collect();
            schemas.insert(format!("{}Params", api.name), params_schema(api, &vars));
        }
        schemas.insert(format!("{}Reply", api.name), reply_schema(api));
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hostplane",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "ZStack's REST API for KVM hosts, as hostplane serves it.",
            "description": "Generated from hostplane's API and route tables. Paths are relative to /zstack/v1 (also served under /v1). \
                Log in with PUT /accounts/login (the password as its SHA-512 hex digest) and send the session as \
                `Authorization: OAuth <session uuid>`. Asynchronous APIs answer 202 with a job location to poll. \
                Not described here: the legacy RPC endpoint POST /zstack/api, GET /metrics (Prometheus), this reference at /docs.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/zstack/v1", "description": "this server"}],
        "security": [{"session": []}],
        "tags": tags(),
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`OAuth <session uuid>`: the inventory.uuid of LogInByAccount's reply.",
                },
            },
            "parameters": {
                "X-Job-UUID": {"name": "X-Job-UUID", "in": "header", "required": false,
                    "description": "The job's uuid, chosen by the caller (32 hex digits, no dashes); reusing one is refused.",
                    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}},
                "X-Web-Hook": {"name": "X-Web-Hook", "in": "header", "required": false,
                    "description": "A URL the job's result is POSTed to when it is done (as a poll would answer).",
                    "schema": {"type": "string", "format": "uri"}},
                "X-API-Timeout": {"name": "X-API-Timeout", "in": "header", "required": false,
                    "description": "Seconds the job may run (default: the API's own timeout).",
                    "schema": {"type": "integer", "minimum": 1}},
                "X-JSON-Schema": {"name": "X-JSON-Schema", "in": "header", "required": false,
                    "description": "Any value: add the `schema` map (class of each inventory) to the reply.",
                    "schema": {"type": "string"}},
            },
            "responses": {
                "BadRequest": {"description": "A protocol error (missing Authorization header, bad JSON, bad query syntax, wrong parameter type), as plain text.",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
                "Failed": {"description": "The API failed: ZStack's ErrorCode.",
                    "content": {"application/json": {"schema": schema_ref("ErrorReply")}}},
            },
            "schemas": schemas,
        },
    })
}

fn tags() -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    for r in ROUTES {
        let t = r
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.push("api-jobs");
    seen.into_iter().map(|t| json!({ "name": t })).collect()
}

/// `GET /api-jobs/{uuid}`: polling a job.
fn job_poll() -> Value {
    let replies: Vec<Value> = APIS
        .iter()
        .filter(|a| a.kind == Kind::Async)
        .map(|a| schema_ref(&format!("{}Reply", a.name)))
        .collect();
    json!({
        "get": {
            "operationId": "PollJob",
            "tags": ["api-jobs"],
            "summary": "Poll an asynchronous call",
            "description": "No session needed (the job uuid is the secret). A running job answers 202 {} with the header X-Job-Step (the step it is at; hostplane's addition).",
            "security": [],
            "parameters": [
                {"name": "uuid", "in": "path", "required": true, "schema": {"type": "string"}},
                header_param("X-JSON-Schema"),
            ],
            "responses": {
                "200": {"description": "Done: the API's reply.", "content": {"application/json": {"schema": {"anyOf": replies}}}},
                "202": {"description": "Still running.",
                    "headers": {"X-Job-Step": {"description": "The step the job is at.", "schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}},
                "404": {"description": "No such job, or its result expired.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "503": {"$ref": "#/components/responses/Failed"},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every API has a reply shape, appears in the document, and its parameters are there.
    #[test]
    fn covers_every_api() {
        let doc = document();
        let text = doc.to_string();
        for api in APIS {
            answer_inventory(api).unwrap();
            assert!(
                text.contains(&format!("\"name\":\"{}\"", api.name)),
                "{} missing",
                api.name
            );
            if api.query.is_none() {
                let params = &doc["components"]["schemas"][format!("{}Params", api.name)];
                assert!(params.is_object(), "{}", api.name);
            }
        }
        assert_eq!(
            answer_inventory(crate::domain::api::by_name("CreateZone").unwrap()),
            Ok(Some("ZoneInventory"))
        );
        assert_eq!(
            answer_inventory(crate::domain::api::by_name("ChangeClusterState").unwrap()),
            Ok(Some("ClusterInventory"))
        );
        assert_eq!(
            answer_inventory(crate::domain::api::by_name("CreateHostEventSubscription").unwrap()),
            Ok(Some("HostEventSubscriptionInventory"))
        );
        let add = &doc["paths"]["/hosts/kvm"]["post"];
        assert_eq!(add["operationId"], "AddKVMHost");
        let required = &doc["components"]["schemas"]["AddKVMHostParams"]["required"];
        for p in [
            "name",
            "managementIp",
            "clusterUuid",
            "username",
            "password",
        ] {
            assert!(
                required.as_array().unwrap().contains(&json!(p)),
                "{required}"
            );
        }
        assert_eq!(
            doc["paths"]["/hosts/{uuid}"]["get"]["operationId"],
            "QueryHostByUuid"
        );
        assert_eq!(
            doc["paths"]["/hosts/{uuid}/actions"]["put"]["operationId"],
            "HostActions"
        );
    }

    /// docs/openapi.json is the document this build generates.
    #[test]
    fn openapi_committed_file_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let want = document_text();
        if std::env::var_os("HOSTPLANE_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/openapi.json");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/openapi.json is not current: regenerate it with \
             HOSTPLANE_BLESS=1 cargo test -p hostplane-server openapi"
        );
    }
}
