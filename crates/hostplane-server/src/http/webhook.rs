//! `X-Web-Hook`: when an async REST call carries this header, the job's result is POSTed to
//! that URL once it is done — the same body a poll would get (200 shape or `{"error": ...}`),
//! with the headers `X-Job-UUID` and `X-Job-Success: true|false`. A non-2xx answer (or no
//! answer) is retried 15 times, 2 s apart, as ZStack does. The 202 + location is answered as
//! usual, so polling still works.
//!
//! The URL is the caller's; hostplane sends nothing else to it and never follows redirects.

use std::time::Duration;

use serde_json::json;

use super::encode::rest_body;
use crate::domain::jobs::{JobResult, OnFinish};

const TRIES: usize = 15;
const PAUSE: Duration = Duration::from_secs(2);

/// The job callback that delivers the result to `url`.
pub fn callback(url: String, with_schema: bool) -> OnFinish {
    Box::new(move |job: String, result: JobResult| {
        tokio::spawn(deliver(url, job, result, with_schema));
    })
}

async fn deliver(url: String, job: String, result: JobResult, with_schema: bool) {
    let (ok, body) = match &result {
        Ok(out) => (true, rest_body(out, with_schema)),
        Err(e) => (false, json!({ "error": e.to_error_code() })),
    };
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(job = %job, error = %e, "webhook client could not be built");
            return;
        }
    };
    for attempt in 1..=TRIES {
        let sent = client
            .post(&url)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("X-Job-UUID", &job)
            .header("X-Job-Success", if ok { "true" } else { "false" })
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::info!(job = %job, attempt, status = %r.status(), "webhook answered non-2xx")
            }
            Err(e) => tracing::info!(job = %job, attempt, error = %e, "webhook not delivered"),
        }
        if attempt < TRIES {
            tokio::time::sleep(PAUSE).await;
        }
    }
    tracing::warn!(job = %job, tries = TRIES, "giving up on the webhook");
}
