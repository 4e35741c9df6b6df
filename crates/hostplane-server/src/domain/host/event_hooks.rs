//! Webhook subscriptions to host events (hostplane's addition): CreateHostEventSubscription,
//! DeleteHostEventSubscription (QueryHostEventSubscription is a query), and the delivery of
//! every recorded event ([`super::events`]) to the subscriptions it matches.
//!
//! A subscription names a URL and, optionally, one host and some event types. Its URL must be
//! a webhook target ([`crate::webhook_target`]: http or https, no loopback or link-local
//! address unless `rest.webhook.allowedNetworks` allows it), checked when it is created and again on every
//! delivery (through a resolver that only hands out checked addresses; no redirects). An
//! optional secret, sealed at rest like host credentials and never returned, signs each body:
//! `X-Hostplane-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! Delivery is bounded everywhere: events wait in a queue of [`QUEUE`] (when it is full an event
//! is dropped for webhooks — it stays queryable — and counted); at most [`IN_FLIGHT`] deliveries
//! exist at once (waiting retries included) and [`CONCURRENCY`] requests run at once; each
//! delivery is tried [`TRIES`] times, 1, 2, 4, 8 s apart, each try bounded by [`TRY_TIMEOUT`].
//! A 2xx answer is success. Deliveries of one event run in parallel and a retried one can
//! overtake a later event: receivers order by the event's `id`. The body is
//! `{"subscriptionUuid": ..., "event": <the event as QueryHostEvent shows it>}`, with the
//! headers `X-Hostplane-Event` (the type) and `X-Hostplane-Event-Id`.
//!
//! Subscriptions are read from the store at most every [`SUBSCRIPTIONS_MAX_AGE`] (and at once
//! after a change on this server), so a node also delivers to subscriptions another node made.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{mpsc, Semaphore};

use super::events::{inventory, Kind};
use super::Secret;
use crate::domain::api::operation;
use crate::domain::catalogue::HOST_EVENT_SUBSCRIPTION;
use crate::domain::global_config::keys;
use crate::domain::{missing_delete_target, new_uuid, query, App, Output};
use crate::error::{Error, Result};
use crate::netrules::NetRules;
use crate::store::host_event_subscriptions::SubscriptionRow;
use crate::store::host_events::HostEventRow;
use crate::time::now_ms;
use crate::webhook_target::{self, Refused};

/// Events waiting for delivery.
pub const QUEUE: usize = 10_000;
/// Deliveries that exist at once, retries waiting included.
pub const IN_FLIGHT: usize = 1_000;
/// Requests running at once.
pub const CONCURRENCY: usize = 8;
/// Tries of one delivery.
pub const TRIES: u32 = 5;
/// One try's bound.
pub const TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How old the cached subscriptions may be.
pub const SUBSCRIPTIONS_MAX_AGE: Duration = Duration::from_secs(5);

/// The delivery side, owned by [`App`].
pub struct EventHooks {
    tx: mpsc::Sender<HostEventRow>,
    rx: Mutex<Option<mpsc::Receiver<HostEventRow>>>,
    cache: Mutex<Option<(Instant, Arc<Vec<SubscriptionRow>>)>>,
    /// The webhook client, built for the target rules in force when it was made.
    client: Mutex<Option<(NetRules, reqwest::Client)>>,
    requests: Arc<Semaphore>,
}

impl Default for EventHooks {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        EventHooks {
            tx,
            rx: Mutex::new(Some(rx)),
            cache: Mutex::new(None),
            client: Mutex::new(None),
            requests: Arc::new(Semaphore::new(CONCURRENCY)),
        }
    }
}

impl EventHooks {
    /// Queue an event for the subscriptions (never waits).
    pub fn publish(&self, app: &App, e: &HostEventRow) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(e.clone()) {
            app.metrics.webhook_delivery("dropped");
            tracing::warn!(
                event = e.id,
                "the webhook queue is full; the event is not delivered"
            );
        }
    }

    fn invalidate(&self) {
        *self.cache.lock().expect("subscriptions") = None;
    }

    async fn subscriptions(&self, app: &App) -> Arc<Vec<SubscriptionRow>> {
        if let Some((at, s)) = self.cache.lock().expect("subscriptions").as_ref() {
            if at.elapsed() < SUBSCRIPTIONS_MAX_AGE {
                return s.clone();
            }
        }
        match app.store.subscriptions_all().await {
            Ok(rows) => {
                let s = Arc::new(rows);
                *self.cache.lock().expect("subscriptions") = Some((Instant::now(), s.clone()));
                s
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the event subscriptions");
                Arc::new(Vec::new())
            }
        }
    }

    fn client(&self, rules: &NetRules) -> Option<reqwest::Client> {
        let mut slot = self.client.lock().expect("webhook client");
        if let Some((r, c)) = slot.as_ref() {
            if r == rules {
                return Some(c.clone());
            }
        }
        match webhook_target::client(rules, TRY_TIMEOUT) {
            Ok(c) => {
                *slot = Some((rules.clone(), c.clone()));
                Some(c)
            }
            Err(e) => {
                tracing::error!(error = %e, "the webhook client could not be built");
                None
            }
        }
    }
}

fn matches(s: &SubscriptionRow, e: &HostEventRow) -> bool {
    s.host_uuid.as_ref().is_none_or(|h| *h == e.host_uuid)
        && s.event_types
            .as_ref()
            .is_none_or(|t| t.split(',').any(|k| k == e.kind))
}

/// Start delivering queued events (once, at start-up).
pub fn start(app: Arc<App>) {
    let Some(mut rx) = app.event_hooks.rx.lock().expect("hooks rx").take() else {
        return;
    };
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let subs = app.event_hooks.subscriptions(&app).await;
            for s in subs.iter().filter(|s| matches(s, &e)) {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                let (a, s, e) = (app.clone(), s.clone(), e.clone());
                tokio::spawn(async move {
                    deliver(&a, &s, &e).await;
                    drop(permit);
                });
            }
        }
    });
}

/// The body and headers of one delivery, and its signature.
fn payload(app: &App, s: &SubscriptionRow, e: &HostEventRow) -> (String, Option<String>) {
    let body = json!({ "subscriptionUuid": s.uuid, "event": inventory(e).json }).to_string();
    let signature =
        s.secret
            .as_deref()
            .and_then(|sealed| match app.hosts.crypto.open(&s.uuid, sealed) {
                Ok(Secret::Password(key)) => {
                    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
                    mac.update(body.as_bytes());
                    Some(format!(
                        "sha256={}",
                        hex::encode(mac.finalize().into_bytes())
                    ))
                }
                _ => None,
            });
    (body, signature)
}

async fn deliver(app: &App, s: &SubscriptionRow, e: &HostEventRow) {
    let (body, signature) = payload(app, s, e);
    let mut pause = Duration::from_secs(1);
    for attempt in 1..=TRIES {
        let rules = app.configs.get(keys::REST_WEBHOOK_ALLOWED_NETWORKS);
        let url = match webhook_target::parse(&s.url, &rules) {
            Ok(u) => u,
            Err(r) => return refused(app, s, &r),
        };
        let Some(client) = app.event_hooks.client(&rules) else {
            return;
        };
        let sent = {
            let _slot = app.event_hooks.requests.acquire().await;
            let mut req = client
                .post(url.clone())
                .header("Content-Type", "application/json;charset=UTF-8")
                .header("X-Hostplane-Event", &e.kind)
                .header("X-Hostplane-Event-Id", e.id.to_string())
                .header("X-Hostplane-Subscription", &s.uuid)
                .body(body.clone());
            if let Some(sig) = &signature {
                req = req.header("X-Hostplane-Signature", sig);
            }
            req.send().await
        };
        match sent {
            Ok(r) if r.status().is_success() => {
                app.metrics.webhook_delivery("delivered");
                return;
            }
            Ok(r) => tracing::info!(
                subscription = %s.uuid, event = e.id, attempt, status = %r.status(),
                "event webhook answered non-2xx"
            ),
            Err(err) => {
                // A refusal by the guarded resolver is final: the name points somewhere local.
                if let Some(r) = refusal(&err) {
                    return refused(app, s, &r);
                }
                tracing::info!(
                    subscription = %s.uuid, event = e.id, attempt, url = %webhook_target::redacted(&url),
                    error = %chain(&err), "event webhook not delivered"
                );
            }
        }
        if attempt < TRIES {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    app.metrics.webhook_delivery("failed");
    tracing::warn!(subscription = %s.uuid, event = e.id, tries = TRIES, "giving up on an event webhook");
}

/// An error with its causes: reqwest's own text leaves out why a request failed.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn refusal(err: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

fn refused(app: &App, s: &SubscriptionRow, r: &Refused) {
    app.metrics.webhook_delivery("refused");
    tracing::warn!(subscription = %s.uuid, reason = %r, "event webhook target refused");
}

/// APICreateHostEventSubscriptionMsg's parameters (hostplane's addition).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateHostEventSubscription {
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    pub host_uuid: Option<String>,
    #[serde(default)]
    pub event_types: Vec<String>,
    pub secret: Option<String>,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIDeleteHostEventSubscriptionMsg's parameters (hostplane's addition).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteHostEventSubscription {
    pub uuid: String,
    pub delete_mode: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(
    CreateHostEventSubscription => create_host_event_subscription,
    DeleteHostEventSubscription => delete_host_event_subscription,
);

/// hostplane: POST /v1/host-event-subscriptions
pub async fn create_host_event_subscription(
    app: &Arc<App>,
    p: CreateHostEventSubscription,
) -> Result<Output> {
    let rules = app.configs.get(keys::REST_WEBHOOK_ALLOWED_NETWORKS);
    webhook_target::check_url(&p.url, &rules)
        .await
        .map_err(|r| Error::invalid_argument(r.to_string()))?;
    let mut types: Vec<&str> = Vec::new();
    for t in &p.event_types {
        let t = t.trim();
        let k = Kind::parse(t).ok_or_else(|| {
            Error::invalid_argument(format!(
                "eventTypes: {t} is not an event type; use {}",
                Kind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !types.contains(&k.as_str()) {
            types.push(k.as_str());
        }
    }
    let uuid = p.resource_uuid.clone().unwrap_or_else(new_uuid);
    let secret = match p.secret.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            app.hosts
                .crypto
                .seal(&uuid, &Secret::Password(s.to_string()))?,
        ),
        None => None,
    };
    let row = SubscriptionRow {
        uuid: uuid.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        url: p.url.trim().to_string(),
        host_uuid: p.host_uuid.clone(),
        event_types: (!types.is_empty()).then(|| types.join(",")),
        secret,
        create_date: now_ms(),
    };
    app.store
        .subscription_insert(&row)
        .await
        .map_err(|e| crate::domain::duplicate_uuid(e, &uuid))?;
    app.event_hooks.invalidate();
    Ok(Output::Inventory(
        query::inventory_of(app, &HOST_EVENT_SUBSCRIPTION, &uuid).await?,
    ))
}

/// hostplane: DELETE /v1/host-event-subscriptions/{uuid}
pub async fn delete_host_event_subscription(
    app: &Arc<App>,
    p: DeleteHostEventSubscription,
) -> Result<Output> {
    let deleted = app.store.subscription_delete(&p.uuid).await?;
    app.event_hooks.invalidate();
    if deleted {
        Ok(Output::Empty)
    } else {
        missing_delete_target(&p.uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(host: Option<&str>, types: Option<&str>) -> SubscriptionRow {
        SubscriptionRow {
            uuid: "s".into(),
            name: "n".into(),
            description: None,
            url: "http://10.0.0.1/".into(),
            host_uuid: host.map(str::to_string),
            event_types: types.map(str::to_string),
            secret: None,
            create_date: 0,
        }
    }

    #[test]
    fn filters() {
        let e = HostEventRow {
            id: 1,
            host_uuid: "h1".into(),
            host_name: None,
            management_ip: None,
            kind: "StatusChanged".into(),
            from: None,
            to: None,
            cause: "x".into(),
            reason: None,
            job_uuid: None,
            management_node_uuid: None,
            create_date: 0,
        };
        assert!(matches(&sub(None, None), &e));
        assert!(matches(&sub(Some("h1"), Some("Added,StatusChanged")), &e));
        assert!(!matches(&sub(Some("h2"), None), &e));
        assert!(!matches(&sub(None, Some("Added")), &e));
    }
}
