//! DeleteHost, Permissive or Enforcing.
//!
//! A missing host (any uuid) is a success. Otherwise: no connect may start for the host any
//! more, and one in flight (a reconnect waiting for a rebooting host's port, say) is cut short
//! and waited for; an Enabled host is Disabled (not undone if the deletion fails, as in
//! ZStack); tracking stops; then, in one transaction, the row and its tags go and a record of
//! the takeover flag still to remove is written ([`super::cleanup`]). The flag is removed
//! best-effort — only if it still names this host, so another manager's flag is never touched
//! (through sudo when the login is not root, as every flag command).
//! Permissive waits for that removal, bounded by short timeouts; Enforcing never waits on the
//! host at all (the removal runs in the background), so an unreachable host is deleted at once.
//! A crash at any point leaves either the whole host or none of it, and a pending removal is
//! retried after a restart. hostplane places no VMs, so no check vetoes a Permissive delete.

use std::sync::Arc;

use super::connect::{cut_short_anywhere, CutShort};
use super::events::{self, Change, Kind};
use super::{cleanup, DISABLED, ENABLED};
use crate::domain::api::operation;
use crate::domain::{App, Output};
use crate::error::{Code, Error, Result};
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
            let hint = e
                .opaque
                .as_ref()
                .and_then(|o| o.get("hint"))
                .cloned()
                .unwrap_or_else(|| "see the cause; the host is unchanged or only Disabled, so DeleteHost can be called again".into());
            Error::wrap(
                Code::DeleteResourceError,
                format!("unable to delete host[uuid:{uuid}]"),
                e,
            )
            .with_opaque("step", "delete-host")
            .with_opaque("hint", hint)
        })?;
    Ok(Output::Empty)
}

/// Delete one host (also used when its cluster or zone is deleted).
pub async fn remove_host(app: &Arc<App>, uuid: &str, enforcing: bool) -> Result<()> {
    if app.store.host_get(uuid).await?.is_none() {
        return Ok(());
    }
    let _deleting = app.hosts.deleting(uuid);
    // Wherever it runs: a connect waiting for a rebooting host's port holds the host's lease.
    cut_short_anywhere(app, uuid, CutShort::Deleted).await;
    let _lease = app.plane.host_lease(uuid).await?;
    // Read again: the connect may have pinned a new key, or an add rolled itself back.
    let Some(h) = app.store.host_get(uuid).await? else {
        app.hosts.tracker.untrack(uuid);
        return Ok(());
    };
    if h.state == ENABLED {
        super::state::store_state(app, uuid, ENABLED, DISABLED).await?;
    }
    app.hosts.tracker.untrack(uuid);
    // Recorded while the row still holds the host's name and IP.
    let c = Change::new(Kind::Deleted, Some(&h.status), None);
    events::record(app, uuid, c).await;
    app.store.host_delete_with_cleanup(uuid, now_ms()).await?;
    tracing::info!(host.uuid = %uuid, enforcing, "host deleted");
    let flag = cleanup::run_one(app.clone(), uuid.to_string());
    if enforcing {
        tokio::spawn(flag);
    } else {
        flag.await;
    }
    Ok(())
}

/// Remove the row of an add that failed (or was cut off by a restart): with a pending flag
/// removal when the connect may have written the flag, else just the row and its tags.
pub async fn roll_back(app: &Arc<App>, uuid: &str, flag_may_exist: bool) -> sqlx::Result<()> {
    if !flag_may_exist {
        return app.store.host_delete(uuid).await;
    }
    app.store.host_delete_with_cleanup(uuid, now_ms()).await?;
    tokio::spawn(cleanup::run_one(app.clone(), uuid.to_string()));
    Ok(())
}
