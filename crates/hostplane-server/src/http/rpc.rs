//! The legacy RPC face used by zstack-cli and zstack-mcp-server: `POST /zstack/api` with
//! `{"<message class>": {fields..., "session": {"uuid": ...}}}`, answered with the
//! `{uuid, state, result}` wrapper, and `GET /zstack/api/result/{uuid}` to poll async calls.
//!
//! It finds the API by its message class and calls the same [`crate::domain::call`] and
//! [`crate::domain::jobs`] as REST; only the envelope differs. Query messages carry their
//! conditions as `{name, op, value}` objects with the RPC operator names.
//!
//! As on REST, an asynchronous message that needs a session has it checked before a job
//! exists; a refused one answers `Processing` and its result poll the ID.1001 error, from
//! [`crate::domain::refused`] (no row, no task).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hostplane_query::{Condition, Op, Query};
use serde_json::{json, Map, Value};

use super::encode::{json_response, rpc_result, text};
use super::limits::Peer;
use crate::domain::api::{self, ApiSpec, Kind, Params};
use crate::domain::jobs::{self, JobView, SubmitError};
use crate::domain::{identity, App, Call, Caller, Output};
use crate::error::{Code, Error};
use crate::time::{format_date, now_ms};

fn wrapper(
    uuid: &str,
    done: bool,
    created: i64,
    finished: Option<i64>,
    result: Option<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("uuid".into(), uuid.into());
    m.insert(
        "state".into(),
        if done { "Done" } else { "Processing" }.into(),
    );
    m.insert("createdDate".into(), format_date(created).into());
    if let Some(f) = finished {
        m.insert("finishedDate".into(), format_date(f).into());
    }
    if let Some(r) = result {
        m.insert("result".into(), r.to_string().into());
    }
    Value::Object(m)
}

/// The answer to a call that ended at once (sync, or refused before any job): a fresh uuid,
/// Done, with its result.
fn done_now(spec: &ApiSpec, created: i64, r: &Result<Output, Error>) -> Response {
    let uuid = crate::domain::new_uuid();
    let result = rpc_result(spec.reply_class, r);
    json_response(
        StatusCode::OK,
        &wrapper(&uuid, true, created, Some(now_ms()), Some(result)),
    )
}

/// The query of an RPC query message.
fn rpc_query(msg: &Map<String, Value>) -> Result<Query, Error> {
    let mut q = Query::default();
    if let Some(Value::Array(conds)) = msg.get("conditions") {
        for c in conds {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let op_s = c.get("op").and_then(Value::as_str).unwrap_or_default();
            let op = Op::from_rpc(op_s)
                .ok_or_else(|| Error::invalid_argument(format!("unknown QueryOp type[{op_s}]")))?;
            let value = match c.get("value") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            };
            if value.is_none() && !matches!(op, Op::IsNull | Op::NotNull) {
                return Err(Error::invalid_argument(format!(
                    "the value of the query condition[{name}] can not be null"
                )));
            }
            q.conditions.push(Condition {
                field: name,
                op,
                value,
            });
        }
    }
    let int = |k: &str| {
        msg.get(k).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let boolean = |k: &str| {
        msg.get(k).is_some_and(|v| {
            v.as_bool()
                .unwrap_or_else(|| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
        })
    };
    q.limit = int("limit");
    q.start = int("start");
    q.count = boolean("count");
    q.reply_with_count = boolean("replyWithCount");
    q.sort_by = msg
        .get("sortBy")
        .and_then(Value::as_str)
        .map(str::to_string);
    match msg.get("sortDirection").and_then(Value::as_str) {
        None | Some("asc") => {}
        Some("desc") => q.sort_desc = true,
        Some(other) => {
            return Err(Error::invalid_argument(format!(
                "valid value for field[sortDirection] are [asc, desc], but {other} found"
            )))
        }
    }
    q.fields = match msg.get("fields") {
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    };
    q.group_by = msg
        .get("groupBy")
        .and_then(Value::as_str)
        .map(str::to_string);
    q.filter_name = msg
        .get("filterName")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(q)
}

/// `POST /zstack/api`
pub async fn call(State(app): State<Arc<App>>, peer: Peer, body: Bytes) -> Response {
    let Ok(Value::Object(outer)) = serde_json::from_slice::<Value>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object {\"<message class>\": {...}}",
        );
    };
    let Some((class, Value::Object(mut msg))) = outer.into_iter().next() else {
        return text(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object {\"<message class>\": {...}}",
        );
    };
    let Some(spec) = api::by_msg_class(&class) else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("no API for message[{class}]"),
        );
    };
    let session = msg
        .remove("session")
        .and_then(|s| s.get("uuid").and_then(Value::as_str).map(str::to_string));
    let caller = Caller {
        session,
        source: peer.ip(),
    };
    let created = now_ms();
    let mut c = Call::default();
    if spec.query.is_some() {
        match rpc_query(&msg) {
            Ok(q) => c.query = Some(q),
            Err(e) => {
                return done_now(spec, created, &Err(e));
            }
        }
    } else {
        c.params = Params(msg);
    }
    match spec.kind {
        Kind::Sync => {
            let r = crate::domain::call(&app, spec, &caller, c).await;
            done_now(spec, created, &r)
        }
        Kind::Async => submit(&app, spec, caller, c, created).await,
    }
}

async fn submit(
    app: &Arc<App>,
    spec: &'static ApiSpec,
    caller: Caller,
    c: Call,
    created: i64,
) -> Response {
    // The session first: a caller without one costs no row and no task.
    if spec.needs_session {
        if let Err(e) = identity::check_session(app, caller.session.as_deref()).await {
            if e.code != Code::InvalidSession {
                return done_now(spec, created, &Err(e));
            }
            let uuid = crate::domain::new_uuid();
            app.jobs.refused.add(&uuid, spec, created, &e);
            return json_response(StatusCode::OK, &wrapper(&uuid, false, created, None, None));
        }
    }
    let work_app = app.clone();
    let work = async move { crate::domain::call(&work_app, spec, &caller, c).await };
    match jobs::submit(
        app,
        None,
        spec.name,
        Duration::from_millis(spec.timeout_ms),
        work,
        None,
    )
    .await
    {
        Ok(job) => json_response(StatusCode::OK, &wrapper(&job, false, created, None, None)),
        Err(SubmitError::Duplicate(u)) => {
            text(StatusCode::BAD_REQUEST, format!("Duplicate job uuid[{u}]"))
        }
        Err(SubmitError::Store(e)) => done_now(spec, created, &Err(e)),
    }
}

/// `GET /zstack/api/result/{uuid}`
pub async fn result(State(app): State<Arc<App>>, Path(uuid): Path<String>) -> Response {
    match jobs::view(&app, &uuid).await {
        Ok(None) => text(StatusCode::NOT_FOUND, format!("no job[uuid:{uuid}]")),
        Ok(Some((row, view))) => {
            let reply = api::by_name(&row.api)
                .map(|s| s.reply_class)
                .unwrap_or("org.zstack.header.message.APIEvent");
            match view {
                JobView::Running => json_response(
                    StatusCode::OK,
                    &wrapper(&uuid, false, row.create_date, None, None),
                ),
                JobView::Done(r) => json_response(
                    StatusCode::OK,
                    &wrapper(
                        &uuid,
                        true,
                        row.create_date,
                        row.finished_date,
                        Some(rpc_result(reply, &r)),
                    ),
                ),
            }
        }
        Err(e) => json_response(
            StatusCode::OK,
            &json!({"uuid": uuid, "state": "Done", "result": rpc_result("org.zstack.header.message.APIEvent", &Err(e)).to_string()}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_conditions() {
        let m = json!({"conditions": [{"name": "cluster.name", "op": "=", "value": "c1"}, {"name": "x", "op": "is null"}], "limit": 5, "sortBy": "name", "sortDirection": "desc", "fields": ["uuid"]});
        let q = rpc_query(m.as_object().unwrap()).unwrap();
        assert_eq!(q.conditions.len(), 2);
        assert_eq!(q.limit, Some(5));
        assert!(q.sort_desc);
        let bad = json!({"conditions": [{"name": "x", "op": "~=", "value": "a"}]});
        assert_eq!(
            rpc_query(bad.as_object().unwrap()).unwrap_err().code,
            crate::error::Code::InvalidArgument
        );
    }
}
