//! Notifications between management nodes: PostgreSQL LISTEN/NOTIFY on one channel.
//!
//! A node publishes with `pg_notify` through its ordinary pool, so a notification is sent when
//! the change it announces is committed. Each node listens on a connection of its own; when
//! that connection is lost and made again, the node resynchronises (reloads every global
//! config and reconciles the hosts it tracks), so a notification missed meanwhile costs
//! nothing but time. Payloads are `<kind> <sender node> [<argument>]`; a node ignores its own.
//!
//! It must never carry a secret in a payload (other database users can LISTEN).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::domain::host::connect::{cut_short, CutShort};
use crate::domain::App;
use crate::store::Store;

/// The channel every node listens on.
pub const CHANNEL: &str = "hostplane";

/// What a node tells the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A global config changed: read them again (a change applies on every node at once).
    Config,
    /// This host was added or connected on a node that does not own it: its owner tracks it.
    Track(String),
    /// A node joined or left: check the membership now rather than at the next heartbeat.
    Nodes,
    /// DeleteHost or maintain of this host: the node running a connect of it cuts it short
    /// (that connect holds the host's lease the sender waits for).
    CutConnect(String, CutShort),
}

impl Event {
    fn encode(&self, node: &str) -> String {
        match self {
            Event::Config => format!("config {node}"),
            Event::Track(h) => format!("track {node} {h}"),
            Event::Nodes => format!("nodes {node}"),
            Event::CutConnect(h, CutShort::Deleted) => format!("cut {node} {h} deleted"),
            Event::CutConnect(h, CutShort::Maintain) => format!("cut {node} {h} maintain"),
        }
    }

    /// The event and its sender.
    fn decode(payload: &str) -> Option<(Event, &str)> {
        let mut parts = payload.split(' ');
        let (kind, from) = (parts.next()?, parts.next()?);
        let event = match kind {
            "config" => Event::Config,
            "track" => Event::Track(parts.next()?.to_string()),
            "nodes" => Event::Nodes,
            "cut" => {
                let host = parts.next()?.to_string();
                match parts.next()? {
                    "deleted" => Event::CutConnect(host, CutShort::Deleted),
                    "maintain" => Event::CutConnect(host, CutShort::Maintain),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some((event, from))
    }
}

/// Send an event to every node (best effort: a failure is logged, and the periodic
/// reconciliation covers what it would have told).
pub(super) async fn publish(store: &Store, node: &str, event: Event) {
    let r = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(event.encode(node))
        .execute(store.pool())
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, event = ?event, "could not notify the other management nodes");
    }
}

/// Listen for the other nodes' events until the process ends.
pub(super) async fn listen(app: Arc<App>, url: String) {
    let mut first = true;
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the notification connection; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot LISTEN for the other management nodes; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if !first {
            // Whatever was announced while the connection was down: read it all again.
            resync(&app).await;
        }
        first = false;
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => handle(&app, n.payload()).await,
                Ok(None) => {
                    tracing::warn!("the notification connection was lost; opening it again");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the notification connection failed; opening it again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

async fn handle(app: &Arc<App>, payload: &str) {
    let Some((event, from)) = Event::decode(payload) else {
        tracing::debug!(payload, "ignoring an unknown notification");
        return;
    };
    if from == app.plane.node() {
        return;
    }
    match event {
        Event::Config => {
            if let Err(e) = app.configs.reload(&app.store).await {
                tracing::warn!(error = %e, "could not read the global configs another node changed");
            }
        }
        Event::Track(host) => {
            if app.plane.owns(&host) {
                app.hosts.tracker.track(app, &host);
            }
        }
        Event::Nodes => super::membership::wake(app),
        Event::CutConnect(host, why) => {
            if cut_short(app, &host, why).is_some() {
                tracing::info!(host.uuid = %host, ?why, from, "cut short this node's connect for another node");
            }
        }
    }
}

async fn resync(app: &Arc<App>) {
    if let Err(e) = app.configs.reload(&app.store).await {
        tracing::warn!(error = %e, "could not read the global configs again");
    }
    super::membership::wake(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for e in [
            Event::Config,
            Event::Track("abc".into()),
            Event::Nodes,
            Event::CutConnect("abc".into(), CutShort::Deleted),
            Event::CutConnect("abc".into(), CutShort::Maintain),
        ] {
            let p = e.encode("n1");
            assert_eq!(Event::decode(&p), Some((e, "n1")));
        }
        assert_eq!(Event::decode("bogus n1"), None);
        assert_eq!(Event::decode("track n1"), None);
        assert_eq!(Event::decode("cut n1 abc reboot"), None);
    }
}
