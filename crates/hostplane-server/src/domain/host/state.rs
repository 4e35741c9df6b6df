//! The admin state machine (ZStack's `HostState`) and ChangeHostState.
//!
//! | from \ event   | enable  | disable  | preMaintain    | maintain    |
//! |----------------|---------|----------|----------------|-------------|
//! | Enabled        | Enabled | Disabled | PreMaintenance | —           |
//! | Disabled       | Enabled | Disabled | PreMaintenance | —           |
//! | PreMaintenance | Enabled | Disabled | PreMaintenance | Maintenance |
//! | Maintenance    | Enabled | Disabled | —              | —           |
//!
//! The API's `maintain` is `preMaintain` then `maintain` (hostplane has no VMs to migrate, so
//! nothing can fail between them; both are checked and the host is written once, so a crash
//! never leaves it in PreMaintenance) and needs a Connected host — or one whose reconnect is
//! waiting for its SSH port (a host rebooting): that wait is cut short and the host goes to
//! Maintenance, Disconnected. A host in maintenance is not pinged or connected. Leaving maintenance sets the host Connecting and reconnects it in the
//! background, so the reply shows `Connecting`. Every state has a way out: enable and disable
//! are defined from all of them.

use std::sync::Arc;

use super::connect::{connect, cut_short_anywhere, CutShort, Mode};
use super::events::{self, Change, Kind};
use super::{
    in_maintenance, CONNECTED, CONNECTING, DISABLED, DISCONNECTED, ENABLED, MAINTENANCE,
    PRE_MAINTENANCE,
};
use crate::domain::api::operation;
use crate::domain::catalogue::{HOST, HOST_CLASS, KVM_ONLY_FIELDS};
use crate::domain::{query, App, Output};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// The next state, or None where the table has no transition.
pub fn next_state(from: &str, event: &str) -> Option<&'static str> {
    match (from, event) {
        (_, "enable") => Some(ENABLED),
        (_, "disable") => Some(DISABLED),
        (ENABLED | DISABLED | PRE_MAINTENANCE, "preMaintain") => Some(PRE_MAINTENANCE),
        (PRE_MAINTENANCE, "maintain") => Some(MAINTENANCE),
        _ => None,
    }
}

fn no_transition(from: &str, event: &str) -> Error {
    Error::internal(format!(
        "cannot find next state for current state[{from}] on transaction event[{event}]"
    ))
}

/// APIChangeHostStateMsg's parameters.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeHostState {
    pub uuid: String,
    pub state_event: String,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(ChangeHostState => change_host_state);

/// ZStack: APIChangeHostStateMsg, PUT /v1/hosts/{uuid}/actions {"changeHostState": {...}}
pub async fn change_host_state(app: &Arc<App>, p: ChangeHostState) -> Result<Output> {
    let uuid = p.uuid.as_str();
    let event = p.state_event.as_str();
    // A reconnect waiting for the SSH port of a rebooting host is cut short by maintain, before
    // the lease is taken (it holds the host's lease while it waits). When it ran on another
    // management node, the host found Disconnected under the lease is taken to be the one cut.
    let (mut cut_here, mut cut_elsewhere) = (false, false);
    if event == "maintain" {
        let connecting = !app.plane.is_solo()
            && app
                .store
                .host_get(uuid)
                .await?
                .is_some_and(|h| h.status == CONNECTING);
        cut_here = cut_short_anywhere(app, uuid, CutShort::Maintain).await;
        cut_elsewhere = !cut_here && connecting;
    }
    let lease = app.plane.host_lease(uuid).await?; // one change or connect at a time, any node
    let h = app.store.host_get(uuid).await?.ok_or_else(|| {
        Error::not_found(format!(
            "cannot find host[uuid:{uuid}], it may have been deleted"
        ))
    })?;
    if event == "maintain" {
        let pre = next_state(&h.state, "preMaintain").ok_or_else(|| {
            let e = no_transition(&h.state, "preMaintain");
            Error::internal(format!(
                "host {} is already in {}: {}",
                h.name, h.state, e.details
            ))
        })?;
        let fin = next_state(pre, "maintain").ok_or_else(|| no_transition(pre, "maintain"))?;
        let cut = cut_here || (cut_elsewhere && h.status == DISCONNECTED);
        if !cut && h.status != CONNECTED {
            return Err(Error::operation(format!(
                "can not maintain host[uuid:{uuid}, status:{}]which is not Connected",
                h.status
            ))
            .with_opaque("step", "check-status")
            .with_opaque(
                "hint",
                "reconnect the host first (ReconnectHost), or delete it",
            ));
        }
        // One write: a crash never leaves the host in PreMaintenance. Both transitions are
        // events, as ZStack's two steps are.
        app.store.host_set_state(uuid, fin, now_ms()).await?;
        for (a, b) in [(h.state.as_str(), pre), (pre, fin)] {
            if a != b {
                let c = Change::new(Kind::StateChanged, Some(a), Some(b));
                events::record(app, uuid, c).await;
            }
        }
        tracing::info!(host.uuid = %uuid, "host is in maintenance");
    } else {
        set_state(app, uuid, &h.state, event).await?;
    }
    drop(lease);
    let mut inv = query::inventory_of(app, &HOST, uuid).await?;
    // ChangeHostState's event carries the plain HostInventory.
    inv.class = HOST_CLASS.into();
    for f in KVM_ONLY_FIELDS {
        inv.json.remove(*f);
    }
    Ok(Output::Inventory(inv))
}

/// Store a new state; a change is a host event.
pub async fn store_state(app: &App, uuid: &str, from: &str, to: &str) -> Result<()> {
    app.store.host_set_state(uuid, to, now_ms()).await?;
    if from != to {
        let c = Change::new(Kind::StateChanged, Some(from), Some(to));
        events::record(app, uuid, c).await;
    }
    Ok(())
}

/// enable/disable; leaving maintenance reconnects the host.
async fn set_state(app: &Arc<App>, uuid: &str, from: &str, event: &str) -> Result<()> {
    let to = next_state(from, event).ok_or_else(|| no_transition(from, event))?;
    store_state(app, uuid, from, to).await?;
    if in_maintenance(from) && !in_maintenance(to) {
        app.store
            .host_set_status(uuid, CONNECTING, now_ms())
            .await?;
        let (a, u) = (app.clone(), uuid.to_string());
        let mode = Mode {
            cause: Some("maintenance-exit"),
            ..Mode::default()
        };
        tokio::spawn(async move {
            if let Err(e) = connect(&a, &u, mode).await {
                tracing::warn!(host.uuid = %u, error = %e, "reconnect after maintenance failed");
            }
        });
    }
    Ok(())
}

/// A cluster's enable/disable reaching one of its hosts: hosts in maintenance keep their state.
pub async fn cascade_state_event(app: &Arc<App>, uuid: &str, event: &str) -> Result<()> {
    let Some(h) = app.store.host_get(uuid).await? else {
        return Ok(());
    };
    if in_maintenance(&h.state) {
        return Ok(());
    }
    set_state(app, uuid, &h.state, event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_an_exit() {
        for s in [ENABLED, DISABLED, PRE_MAINTENANCE, MAINTENANCE] {
            assert_eq!(next_state(s, "enable"), Some(ENABLED));
            assert_eq!(next_state(s, "disable"), Some(DISABLED));
        }
        assert_eq!(next_state(MAINTENANCE, "preMaintain"), None);
        assert_eq!(next_state(ENABLED, "maintain"), None);
        assert_eq!(next_state(PRE_MAINTENANCE, "maintain"), Some(MAINTENANCE));
    }
}
