//! `X-Web-Hook`: when an async REST call carries this header, the job's result is POSTed to
//! that URL once it is done — the same body a poll would get (200 shape or `{"error": ...}`),
//! with the headers `X-Job-UUID` and `X-Job-Success: true|false`. A non-2xx answer (or no
//! answer) is retried 15 times, 2 s apart, as ZStack does. The 202 + location is answered as
//! usual, so polling still works.
//!
//! The URL is the caller's, so it is an SSRF vector and is checked before the job exists, and
//! only for a call whose session is valid ([`target`]): `http` or `https` only; the host is
//! resolved once and every address it resolves to must be allowed by
//! `rest.webhook.allowedNetworks` ([`crate::netrules`]: by default no loopback, link-local —
//! cloud metadata included —, unspecified or multicast address). A refused URL fails the call
//! with SYS.1007; nothing is dropped silently. The delivery then connects to the address that
//! was checked (no second DNS lookup, so no DNS rebinding), through no proxy, and never
//! follows redirects. At most [`crate::domain::jobs::MAX_DELIVERIES`] deliveries run at once.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use serde_json::json;

use super::encode::rest_body;
use crate::domain::global_config::keys;
use crate::domain::jobs::{JobResult, OnFinish};
use crate::domain::App;
use crate::error::Error;

const TRIES: usize = 15;
const PAUSE: Duration = Duration::from_secs(2);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A webhook URL that passed the checks, and the address its deliveries connect to.
#[derive(Debug, Clone)]
pub struct Target {
    url: Url,
    /// The host name to pin to `addr` (None when the URL names an address).
    domain: Option<String>,
    addr: SocketAddr,
}

fn refused(url: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("the X-Web-Hook URL[{url}] is refused: {why}"))
}

/// Check an `X-Web-Hook` URL and resolve it once (SYS.1007 when it is refused).
pub async fn target(app: &App, raw: &str) -> Result<Target, Error> {
    let url = Url::parse(raw).map_err(|e| refused(raw, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(raw, "only http and https are allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(raw, "credentials in the URL are not allowed"));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refused(raw, "no port"))?;
    let (domain, addrs): (Option<String>, Vec<SocketAddr>) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(url::Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(url::Host::Domain(d)) => {
            let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((d, port)))
                .await
                .map_err(|_| refused(raw, format!("{d} did not resolve within 5 s")))?
                .map_err(|e| refused(raw, format!("{d} does not resolve ({e})")))?
                .collect::<Vec<_>>();
            (Some(d.to_string()), found)
        }
        None => return Err(refused(raw, "no host")),
    };
    let Some(first) = addrs.first().copied() else {
        return Err(refused(raw, "the host resolves to no address"));
    };
    let rules = app.configs.get(keys::REST_WEBHOOK_ALLOWED_NETWORKS);
    if let Some(bad) = addrs.iter().find(|a| !rules.allows(a.ip())) {
        return Err(refused(
            raw,
            format!(
                "{} is not an allowed target (loopback, link-local, unspecified and multicast addresses are refused unless rest.webhook.allowedNetworks allows them)",
                bad.ip()
            ),
        ));
    }
    Ok(Target {
        url,
        domain,
        addr: first,
    })
}

/// The job callback that delivers the result to the target.
pub fn callback(app: &App, target: Target, with_schema: bool) -> OnFinish {
    let slots = app.jobs.deliveries.clone();
    Box::new(move |job: String, result: JobResult| {
        tokio::spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            deliver(target, job, result, with_schema).await;
        });
    })
}

async fn deliver(target: Target, job: String, result: JobResult, with_schema: bool) {
    let (ok, body) = match &result {
        Ok(out) => (true, rest_body(out, with_schema)),
        Err(e) => (false, json!({ "error": e.to_error_code() })),
    };
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(d) = &target.domain {
        builder = builder.resolve(d, target.addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(job = %job, error = %e, "webhook client could not be built");
            return;
        }
    };
    for attempt in 1..=TRIES {
        let sent = client
            .post(target.url.clone())
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
