//! The REST v1 face: `/zstack/v1/**` (and the `/v1/**` alias).
//!
//! One handler serves every API: it finds the route (exact paths beat templates; a PUT shared
//! by several actions is decided by the body's top-level key), reads the call (body, query
//! string, URL variables), checks the protocol-level rules (Authorization header, X-Job-UUID,
//! parameter types), and then either answers a synchronous API in-line (200 or 503) or submits
//! an asynchronous one as a job (202 + location). Everything past decoding is
//! [`crate::domain::call`].
//!
//! An asynchronous API that needs a session has it checked before anything else happens: no
//! job row, no task, no webhook for a caller without a valid session. ZStack's answer (202,
//! then ID.1001 on the poll) comes from [`crate::domain::refused`], in memory. An `X-Web-Hook`
//! is checked ([`webhook::target`]) before the job exists; a refused one fails the call.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::decode::{self, BadRequest};
use super::encode::{error_response, json_response, sized_json_response, text, RestBody};
use super::limits::Peer;
use super::routes::{action_name, literal_segments, match_path, ROUTES};
use super::webhook;
use crate::domain::api::{self, ApiSpec, Kind};
use crate::domain::jobs::{self, OnFinish, SubmitError};
use crate::domain::{identity, App, Call, Caller};
use crate::error::Code;
use crate::time::now_ms;

/// Whether the request asked for the `schema` map.
pub fn wants_schema(headers: &HeaderMap) -> bool {
    headers.contains_key("x-json-schema")
}

/// Split `/zstack/v1/hosts` into (`/zstack`, `/hosts`).
fn strip_prefix(path: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = path.strip_prefix("/zstack/v1") {
        Some(("/zstack", rest))
    } else {
        path.strip_prefix("/v1").map(|rest| ("", rest))
    }
}

/// The handler behind every REST path.
pub async fn dispatch(
    State(app): State<Arc<App>>,
    peer: Peer,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let Some((prefix, rest)) =
        strip_prefix(&path).filter(|(_, r)| r.starts_with('/') && r.len() > 1)
    else {
        return text(StatusCode::NOT_FOUND, format!("no api mapping to {path}"));
    };
    let matched: Vec<_> = ROUTES
        .iter()
        .filter_map(|r| match_path(r.path, rest).map(|v| (r, v)))
        .collect();
    if matched.is_empty() {
        return text(StatusCode::NOT_FOUND, format!("no api mapping to {path}"));
    }
    let mut candidates: Vec<_> = matched
        .into_iter()
        .filter(|(r, _)| r.method == method)
        .collect();
    if candidates.is_empty() {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("the method[{method}] is not allowed on {path}"),
        );
    }
    let best = candidates
        .iter()
        .map(|(r, _)| literal_segments(r.path))
        .max()
        .unwrap_or(0);
    candidates.retain(|(r, _)| literal_segments(r.path) == best);

    let body_json: Option<Map<String, Value>> = if method == Method::POST || method == Method::PUT {
        if body.iter().all(u8::is_ascii_whitespace) {
            Some(Map::new())
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => Some(m),
                Ok(_) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        "the request body must be a JSON object",
                    )
                }
                Err(e) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!("the request body is not valid JSON: {e}"),
                    )
                }
            }
        }
    } else {
        None
    };

    let (route, vars) = if candidates.len() == 1 {
        candidates.remove(0)
    } else {
        let body = body_json.as_ref().expect("shared paths are PUT actions");
        match candidates
            .into_iter()
            .find(|(r, _)| body.contains_key(&action_name(r.api)))
        {
            Some(c) => c,
            None => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("the body doesn't contain action mapping to the URL[{path}]"),
                )
            }
        }
    };
    let spec = api::by_name(route.api).expect("every route names an API");

    // The call itself.
    let pairs = decode::query_pairs(uri.query());
    let mut call = Call::default();
    if spec.query.is_some() {
        if vars.iter().any(|(k, _)| k == "uuid") {
            // GET /{resource}/{uuid}: one condition, every other parameter ignored.
            let uuid = &vars.iter().find(|(k, _)| k == "uuid").expect("checked").1;
            call.query = Some(hostplane_query::Query {
                conditions: vec![hostplane_query::Condition {
                    field: "uuid".into(),
                    op: hostplane_query::Op::Eq,
                    value: Some(uuid.clone()),
                }],
                ..Default::default()
            });
        } else {
            match decode::query_from_pairs(&pairs) {
                Ok(q) => call.query = Some(q),
                Err(BadRequest(m)) => return text(StatusCode::BAD_REQUEST, m),
            }
        }
    } else {
        let mut params = match (&body_json, method.clone()) {
            (Some(body), Method::POST) => match body.get("params") {
                Some(Value::Object(p)) => p.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(_) => return text(StatusCode::BAD_REQUEST, "[params] must be a JSON object"),
            },
            (Some(body), _) => match body.get(&action_name(spec.name)) {
                Some(Value::Object(p)) => p.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(_) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!("[{}] must be a JSON object", action_name(spec.name)),
                    )
                }
            },
            (None, _) => decode::params_from_query(spec, &pairs),
        };
        if let Some(body) = &body_json {
            decode::merge_top_level_tags(body, &mut params);
        }
        for (k, v) in vars {
            params.insert(k, Value::String(v));
        }
        if let Err(BadRequest(m)) = decode::check_types(spec, &mut params) {
            return text(StatusCode::BAD_REQUEST, m);
        }
        call.params = decode::into_params(params);
    }

    // Protocol-level checks.
    let caller = if spec.needs_session {
        match headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or_default().trim().to_string())
        {
            None => return text(StatusCode::BAD_REQUEST, "missing header 'Authorization'"),
            Some(v) => match v.strip_prefix("OAuth") {
                Some(s) => Caller {
                    session: Some(s.trim().to_string()),
                    source: peer.ip(),
                },
                None => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        "Authorization type must be 'OAuth'",
                    )
                }
            },
        }
    } else {
        Caller {
            session: None,
            source: peer.ip(),
        }
    };
    let job_uuid = match headers.get("x-job-uuid") {
        Some(v) => {
            let v = v.to_str().unwrap_or_default().to_string();
            if v.len() != 32 {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped",
                );
            }
            Some(v)
        }
        None => None,
    };

    match spec.kind {
        Kind::Sync => match crate::domain::call(&app, spec, &caller, call).await {
            Ok(out) => {
                let body = RestBody {
                    out: &out,
                    with_schema: spec.query.is_some() || wants_schema(&headers),
                };
                sized_json_response(StatusCode::OK, &body, body.size_hint())
            }
            Err(e) => error_response(&e),
        },
        Kind::Async => {
            let timeout_ms = headers
                .get("x-api-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s.saturating_mul(1000))
                .unwrap_or(spec.timeout_ms);
            // The session first: a caller without one costs no row, no task, no webhook.
            if spec.needs_session {
                if let Err(e) = identity::check_session(&app, caller.session.as_deref()).await {
                    if e.code != Code::InvalidSession {
                        return error_response(&e);
                    }
                    let job = job_uuid.unwrap_or_else(crate::domain::new_uuid);
                    app.jobs.refused.add(&job, spec.name, now_ms(), &e);
                    return accepted(&headers, prefix, &job, timeout_ms);
                }
            }
            let hook = match headers
                .get("x-web-hook")
                .map(|v| v.to_str().unwrap_or_default().trim())
                .filter(|u| !u.is_empty())
            {
                Some(url) => match webhook::target(&app, url).await {
                    Ok(t) => Some(webhook::callback(&app, t, wants_schema(&headers))),
                    Err(e) => return error_response(&e),
                },
                None => None,
            };
            submit(
                &app, spec, caller, call, job_uuid, timeout_ms, hook, &headers, prefix,
            )
            .await
        }
    }
}

/// ZStack's answer to an accepted async call: 202 and where to poll.
fn accepted(headers: &HeaderMap, prefix: &str, job: &str, timeout_ms: u64) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let location = format!("http://{host}{prefix}/v1/api-jobs/{job}");
    json_response(
        StatusCode::ACCEPTED,
        &json!({ "location": location, "apiTimeout": timeout_ms }),
    )
}

#[allow(clippy::too_many_arguments)]
async fn submit(
    app: &Arc<App>,
    spec: &'static ApiSpec,
    caller: Caller,
    call: Call,
    job_uuid: Option<String>,
    timeout_ms: u64,
    hook: Option<OnFinish>,
    headers: &HeaderMap,
    prefix: &str,
) -> Response {
    let work_app = app.clone();
    let work = async move { crate::domain::call(&work_app, spec, &caller, call).await };
    match jobs::submit(
        app,
        job_uuid,
        spec.name,
        Duration::from_millis(timeout_ms),
        work,
        hook,
    )
    .await
    {
        Ok(job) => accepted(headers, prefix, &job, timeout_ms),
        Err(SubmitError::Duplicate(u)) => {
            text(StatusCode::BAD_REQUEST, format!("Duplicate job uuid[{u}]"))
        }
        Err(SubmitError::Store(e)) => error_response(&e),
    }
}
