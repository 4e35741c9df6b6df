//! Host events: what happened to each host, when, and why — hostplane's addition, queried with
//! `QueryHostEvent` (`GET /zstack/v1/host-events`) and delivered to webhook subscriptions
//! ([`super::event_hooks`]).
//!
//! An event is recorded ([`record`]) where the change happens:
//!
//! | type | from → to | recorded by |
//! |---|---|---|
//! | `Added` | — → `Connected` | AddKVMHost, once the host is connected (a failed add leaves no host and no event) |
//! | `Deleted` | status → — | DeleteHost, and the deletes of a cluster or zone |
//! | `StatusChanged` | settled status → settled status | a connect that ends, a ping round that fails |
//! | `StateChanged` | state → state | ChangeHostState (`maintain` records PreMaintenance, then Maintenance), a cluster's state cascading, a delete disabling the host |
//! | `Reconnected` | status before → `Connected` | every successful reconnect (ReconnectHost, automatic, at start-up, leaving maintenance) |
//! | `HostKeyRepinned` | old fingerprint → new | a reconnect with `repinHostKey=true` that pinned a different key |
//!
//! `StatusChanged` records the connection status a host *settles* in: `Connecting` is a
//! transition while a connect runs, not an event of its own, so a reconnect that fails on a
//! host already Disconnected records nothing (the automatic ones retry every ping interval),
//! and one that succeeds records `Disconnected → Connected`. `from` is `Connecting` only when a
//! host was left Connecting (at start-up, or when it leaves maintenance).
//!
//! Each event carries its `cause`: the API whose job made the change (`ReconnectHost`,
//! `DeleteCluster`, ...), or what the server did on its own: `ping-failed`, `auto-reconnect`,
//! `boot`, `maintenance-exit`, `connect-unrecorded` (a host left Connecting by a connect whose
//! last write failed, settled by the tracker); `reason` is the failure's stable reason (`HOST.SSH.*`) where
//! there is one, and `jobUuid` the job. Events are kept `host.event.retentionPeriod` seconds
//! and at most `host.event.maxCount` of them ([`start_sweeper`]). Recording never fails the
//! operation that made the change: a store error is logged.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::domain::catalogue::HOST_EVENT_CLASS;
use crate::domain::global_config::keys;
use crate::domain::{jobs, App, Inventory};
use crate::store::host_events::{HostEventRow, NewHostEvent};
use crate::time::{format_date, now_ms};

/// The type of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Deleted,
    StatusChanged,
    StateChanged,
    Reconnected,
    HostKeyRepinned,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Added,
        Kind::Deleted,
        Kind::StatusChanged,
        Kind::StateChanged,
        Kind::Reconnected,
        Kind::HostKeyRepinned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Added => "Added",
            Kind::Deleted => "Deleted",
            Kind::StatusChanged => "StatusChanged",
            Kind::StateChanged => "StateChanged",
            Kind::Reconnected => "Reconnected",
            Kind::HostKeyRepinned => "HostKeyRepinned",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// One change of a host, as the code that made it describes it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub kind: Kind,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// Why, when the server acted on its own (`ping-failed`, `auto-reconnect`, ...). None: the
    /// API of the job this runs in (or `system` outside any job).
    pub cause: Option<&'a str>,
    /// The failure's stable reason, if any.
    pub reason: Option<&'a str>,
}

impl<'a> Change<'a> {
    pub fn new(kind: Kind, from: Option<&'a str>, to: Option<&'a str>) -> Change<'a> {
        Change {
            kind,
            from,
            to,
            cause: None,
            reason: None,
        }
    }
    pub fn cause(mut self, cause: Option<&'a str>) -> Self {
        if cause.is_some() {
            self.cause = cause;
        }
        self
    }
    pub fn reason(mut self, reason: Option<&'a str>) -> Self {
        self.reason = reason;
        self
    }
}

/// Record an event of `host` (before the host's row goes, for `Deleted`: the event copies its
/// name and IP), count it, and hand it to the webhook subscriptions.
pub async fn record(app: &App, host: &str, c: Change<'_>) {
    let e = Event::of(app, host, c);
    // Counted whether or not its write succeeds.
    counted(app, c.kind.as_str(), c.from, c.to);
    match app.store.host_event_insert(&e.as_new()).await {
        Ok(row) => published(app, &row),
        Err(err) => {
            tracing::error!(host.uuid = %host, event = c.kind.as_str(), error = %err, "could not record a host event")
        }
    }
}

/// An event ready to be written, owning its fields: made in the task that made the change
/// (its `cause` and `jobUuid` come from that task's job), written by whichever writes it
/// ([`super::disconnect`] writes many hosts' together).
#[derive(Debug, Clone)]
pub struct Event {
    host_uuid: String,
    kind: Kind,
    from: Option<String>,
    to: Option<String>,
    cause: String,
    reason: Option<String>,
    job_uuid: Option<String>,
    management_node_uuid: String,
    now: i64,
}

impl Event {
    pub fn of(app: &App, host: &str, c: Change<'_>) -> Event {
        let job = jobs::current();
        let cause = c
            .cause
            .or(job.as_ref().map(|j| j.api.as_str()))
            .unwrap_or("system");
        Event {
            host_uuid: host.to_string(),
            kind: c.kind,
            from: c.from.map(str::to_string),
            to: c.to.map(str::to_string),
            cause: cause.to_string(),
            reason: c.reason.map(str::to_string),
            job_uuid: job.map(|j| j.uuid),
            management_node_uuid: app.node.uuid.clone(),
            now: now_ms(),
        }
    }

    pub fn host_uuid(&self) -> &str {
        &self.host_uuid
    }

    pub fn as_new(&self) -> NewHostEvent<'_> {
        NewHostEvent {
            host_uuid: &self.host_uuid,
            kind: self.kind.as_str(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            cause: &self.cause,
            reason: self.reason.as_deref(),
            job_uuid: self.job_uuid.as_deref(),
            management_node_uuid: &self.management_node_uuid,
            now: self.now,
        }
    }
}

/// Count an event in the metrics.
pub fn counted(app: &App, kind: &str, from: Option<&str>, to: Option<&str>) {
    app.metrics.host_event(kind);
    if kind == Kind::StatusChanged.as_str() {
        app.metrics
            .status_change(from.unwrap_or(""), to.unwrap_or(""));
    }
}

/// A recorded event: logged, and handed to the webhook subscriptions.
pub fn published(app: &App, row: &HostEventRow) {
    tracing::debug!(host.uuid = %row.host_uuid, event = %row.kind, from = ?row.from, to = ?row.to, cause = %row.cause, "host event");
    app.event_hooks.publish(app, row);
}

/// An event as its inventory: the fields of `catalogue::HOST_EVENT`, in its order, null ones
/// left out (what QueryHostEvent shows, and what a webhook receives).
pub fn inventory(e: &HostEventRow) -> Inventory {
    let mut json = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            json.insert(k.to_string(), v);
        }
    };
    let s = |v: &Option<String>| v.clone().map(Value::String);
    put("id", Some(e.id.into()));
    put("hostUuid", Some(e.host_uuid.clone().into()));
    put("hostName", s(&e.host_name));
    put("managementIp", s(&e.management_ip));
    put("type", Some(e.kind.clone().into()));
    put("from", s(&e.from));
    put("to", s(&e.to));
    put("cause", Some(e.cause.clone().into()));
    put("reason", s(&e.reason));
    put("jobUuid", s(&e.job_uuid));
    put("managementNodeUuid", s(&e.management_node_uuid));
    put("createDate", Some(format_date(e.create_date).into()));
    Inventory {
        class: HOST_EVENT_CLASS.into(),
        json,
    }
}

/// Sweep events past their retention every tenth of the retention period (between 1 s and
/// 5 min), and at once after a config change.
pub fn start_sweeper(app: Arc<App>) {
    tokio::spawn(async move {
        let mut changed = app.configs.subscribe();
        loop {
            let keep = app.configs.get(keys::HOST_EVENT_RETENTION);
            let every = (keep / 10).clamp(Duration::from_secs(1), Duration::from_secs(300));
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                r = changed.changed() => if r.is_err() { return },
            }
            let keep = app.configs.get(keys::HOST_EVENT_RETENTION);
            let before = now_ms() - keep.as_millis() as i64;
            let max = app.configs.get(keys::HOST_EVENT_MAX_COUNT);
            match app.store.host_events_sweep(before, max).await {
                Ok(n) if n > 0 => tracing::debug!(swept = n, "old host events removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "host event sweep failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook's event carries exactly the fields QueryHostEvent can show.
    #[test]
    fn the_inventory_matches_the_catalogue() {
        let row = HostEventRow {
            id: 7,
            host_uuid: "h".into(),
            host_name: Some("n".into()),
            management_ip: Some("10.0.0.1".into()),
            kind: "StatusChanged".into(),
            from: Some("Connected".into()),
            to: Some("Disconnected".into()),
            cause: "ping-failed".into(),
            reason: Some("HOST.SSH.PORT_CLOSED".into()),
            job_uuid: Some("j".into()),
            management_node_uuid: Some("m".into()),
            create_date: 1,
        };
        let inv = inventory(&row);
        let names: Vec<&str> = crate::domain::catalogue::HOST_EVENT
            .fields
            .iter()
            .map(|f| f.name)
            .collect();
        let keys: Vec<&str> = inv.json.keys().map(String::as_str).collect();
        assert_eq!(keys, names);
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
    }

    #[test]
    fn the_catalogue_with_events_is_consistent() {
        crate::domain::catalogue::CATALOGUE.validate().unwrap();
    }
}
