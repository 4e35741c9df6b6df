//! DeleteHost, Permissive or Enforcing.
//!
//! A missing host (any uuid) is a success. Otherwise: an Enabled host is first Disabled (not
//! undone if the deletion fails, as in ZStack); tracking stops; the host's takeover flag is
//! removed best-effort — only if it still names this host, so another manager's flag is never
//! touched; then the row and its tags go. Permissive waits for the flag removal, bounded by
//! short timeouts; Enforcing never waits on the host at all (the removal runs in the
//! background), so an unreachable host is deleted at once. hostplane places no VMs, so no
//! check vetoes a Permissive delete.

use std::sync::Arc;
use std::time::Duration;

use hostplane_ssh::{ConnectOptions, Session};

use super::{DISABLED, ENABLED};
use crate::domain::api::operation;
use crate::domain::global_config::keys;
use crate::domain::{App, Output};
use crate::error::{Code, Error, Result};
use crate::store::hosts::HostRow;
use crate::time::now_ms;

/// APIDeleteHostMsg's parameters.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteHost {
    pub uuid: String,
    pub delete_mode: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(DeleteHost => delete_host);

/// ZStack: APIDeleteHostMsg, DELETE /v1/hosts/{uuid}
pub async fn delete_host(app: &Arc<App>, p: DeleteHost) -> Result<Output> {
    let uuid = p.uuid.as_str();
    remove_host(app, uuid, p.delete_mode.as_deref() == Some("Enforcing"))
        .await
        .map_err(|e| {
            Error::wrap(
                Code::DeleteResourceError,
                format!("unable to delete host[uuid:{uuid}]"),
                e,
            )
        })?;
    Ok(Output::Empty)
}

/// Delete one host (also used when its cluster or zone is deleted).
pub async fn remove_host(app: &Arc<App>, uuid: &str, enforcing: bool) -> Result<()> {
    let _lease = app.plane.host_lease(uuid).await?; // not while another node connects it
    let Some(h) = app.store.host_get(uuid).await? else {
        return Ok(());
    };
    if h.state == ENABLED {
        app.store.host_set_state(uuid, DISABLED, now_ms()).await?;
    }
    app.hosts.tracker.untrack(uuid);
    let cleanup = remove_flag(app.clone(), h);
    if enforcing {
        tokio::spawn(cleanup);
    } else {
        cleanup.await;
    }
    app.store.host_delete(uuid).await?;
    tracing::info!(host.uuid = %uuid, enforcing, "host deleted");
    Ok(())
}

/// Remove the host's takeover flag if it still names this host. Failures are only logged.
async fn remove_flag(app: Arc<App>, h: HostRow) {
    let Ok(cred) = app.hosts.credential(&h) else {
        return;
    };
    let opts = ConnectOptions {
        port_wait: Duration::from_secs(2),
        tcp_connect_timeout: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(10),
        expected_host_key: h.host_key_fingerprint.clone(),
        source_address: app.node.ssh_source,
    };
    let path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    let user = h.username.clone().unwrap_or_else(|| "root".into());
    let session = match Session::connect(
        &h.management_ip,
        h.ssh_port.unwrap_or(22) as u16,
        &user,
        &cred,
        &opts,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(host.uuid = %h.uuid, error = %e, "could not reach the deleted host to remove its takeover flag");
            return;
        }
    };
    match session.read_takeover_flag(&path).await {
        Ok(Some(flag)) if flag.host_uuid.as_deref() == Some(h.uuid.as_str()) => {
            if let Err(e) = session.remove_takeover_flag(&path).await {
                tracing::info!(host.uuid = %h.uuid, error = %e, "could not remove the takeover flag");
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::info!(host.uuid = %h.uuid, error = %e, "could not read the takeover flag")
        }
    }
    session.close().await;
}
