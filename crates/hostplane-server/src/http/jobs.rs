//! `GET /zstack/v1/api-jobs/{uuid}`: polling an asynchronous call. No authentication, as in
//! ZStack (the job uuid is the secret). A running job answers ZStack's `202 {}`, plus the
//! header `X-Job-Step` naming the step it is at (hostplane's addition).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::encode::{error_response, json_response, text, RestBody};
use super::rest::wants_schema;
use crate::domain::jobs::{current_step, view, JobView};
use crate::domain::App;

pub async fn poll(
    State(app): State<Arc<App>>,
    method: Method,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET method is allowed for querying job status",
        );
    }
    match view(&app, &uuid).await {
        Ok(None) => text(StatusCode::NOT_FOUND, "the job has been expired"),
        Ok(Some((_, JobView::Running))) => {
            // The body stays ZStack's `{}`; the step is an extra header for people and the CLI.
            let mut r = json_response(StatusCode::ACCEPTED, &json!({}));
            if let Some(step) =
                current_step(&app, &uuid).and_then(|s| HeaderValue::from_str(&s).ok())
            {
                r.headers_mut().insert("x-job-step", step);
            }
            r
        }
        Ok(Some((_, JobView::Done(Ok(out))))) => {
            let body = RestBody {
                out: &out,
                with_schema: wants_schema(&headers),
            };
            json_response(StatusCode::OK, &body)
        }
        Ok(Some((_, JobView::Done(Err(e))))) => error_response(&e),
        Err(e) => error_response(&e),
    }
}
