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
//! nothing can fail between them) and needs a Connected host. A host in maintenance is not
//! pinged or connected. Leaving maintenance sets the host Connecting and reconnects it in the
//! background, so the reply shows `Connecting`. Every state has a way out: enable and disable
//! are defined from all of them.

use std::sync::Arc;

use super::connect::{connect, Mode};
use super::{
    in_maintenance, CONNECTED, CONNECTING, DISABLED, ENABLED, MAINTENANCE, PRE_MAINTENANCE,
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
    let lease = app.plane.host_lease(uuid).await?; // one change or connect at a time, any node
    let h = app.store.host_get(uuid).await?.ok_or_else(|| {
        Error::not_found(format!(
            "cannot find host[uuid:{uuid}], it may have been deleted"
        ))
    })?;
    if event == "maintain" {
        if h.status != CONNECTED {
            return Err(Error::operation(format!(
                "can not maintain host[uuid:{uuid}, status:{}]which is not Connected",
                h.status
            )));
        }
        let pre = next_state(&h.state, "preMaintain")
            .ok_or_else(|| no_transition(&h.state, "preMaintain"))?;
        app.store.host_set_state(uuid, pre, now_ms()).await?;
        let fin = next_state(pre, "maintain").ok_or_else(|| no_transition(pre, "maintain"))?;
        app.store.host_set_state(uuid, fin, now_ms()).await?;
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

/// enable/disable; leaving maintenance reconnects the host.
async fn set_state(app: &Arc<App>, uuid: &str, from: &str, event: &str) -> Result<()> {
    let to = next_state(from, event).ok_or_else(|| no_transition(from, event))?;
    app.store.host_set_state(uuid, to, now_ms()).await?;
    if in_maintenance(from) && !in_maintenance(to) {
        app.store
            .host_set_status(uuid, CONNECTING, now_ms())
            .await?;
        let (a, u) = (app.clone(), uuid.to_string());
        tokio::spawn(async move {
            if let Err(e) = connect(&a, &u, Mode::default()).await {
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
