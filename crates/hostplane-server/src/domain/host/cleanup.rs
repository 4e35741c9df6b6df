//! Removing the takeover flag of a host that is gone from this server (deleted, or its add
//! rolled back), durably.
//!
//! The host's deletion writes a `host_cleanup` record in the same transaction
//! ([`crate::store::Store::host_delete_with_cleanup`]); [`run_one`] then logs in with the
//! host's old credentials and pin, removes the flag if it still names this host (another
//! manager's flag, or a flag of the same machine added again under a new uuid, is never
//! touched), and drops the record. A host that cannot be reached keeps its record:
//! [`start`] retries every pending record at start-up and every minute, for up to an hour
//! after the deletion, then gives up (a flag nobody refreshes goes stale after one ping
//! interval, so another manager can take the host anyway). Answers that will not change by
//! waiting (credentials rejected, a different host key, a credential this server cannot
//! decrypt) end the record at once.
//!
//! This module never writes a flag and never touches a host that is in the store.

use std::sync::Arc;
use std::time::Duration;

use hostplane_ssh::{ConnectOptions, Session, SshError};

use crate::domain::global_config::keys;
use crate::domain::App;
use crate::store::host_cleanup::CleanupRow;
use crate::time::now_ms;

/// How long an unreachable host's flag removal is retried.
const GIVE_UP_AFTER: Duration = Duration::from_secs(3600);
/// How often pending removals are retried.
const RETRY_EVERY: Duration = Duration::from_secs(60);

/// Try the pending flag removal of host `uuid` once (no-op when none is pending or another
/// try runs).
pub async fn run_one(app: Arc<App>, uuid: String) {
    {
        let mut running = app.hosts.cleaning.lock().expect("cleaning");
        if !running.insert(uuid.clone()) {
            return;
        }
    }
    let r = match app.store.cleanup_get(&uuid).await {
        Ok(Some(row)) => try_remove(&app, &row).await,
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::info!(host.uuid = %uuid, error = %e, "could not read the pending flag removal; retried later");
            Err(())
        }
    };
    if r.is_ok() {
        if let Err(e) = app.store.cleanup_done(&uuid).await {
            tracing::info!(host.uuid = %uuid, error = %e, "could not end the pending flag removal; retried later");
        }
    }
    app.hosts.cleaning.lock().expect("cleaning").remove(&uuid);
}

/// Ok: done with this record (removed, nothing to remove, or given up). Err: try again later.
async fn try_remove(app: &App, row: &CleanupRow) -> Result<(), ()> {
    let uuid = &row.uuid;
    let Some(cred) = row
        .credential
        .as_deref()
        .and_then(|c| app.hosts.open_credential(uuid, c).ok())
    else {
        tracing::info!(host.uuid = %uuid, "no usable credential to remove the takeover flag of a deleted host");
        return Ok(());
    };
    let opts = ConnectOptions {
        port_wait: Duration::ZERO,
        tcp_connect_timeout: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(10),
        fail_fast: true,
        expected_host_key: row.host_key_fingerprint.clone(),
        source_address: app.node.ssh_source,
    };
    let path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    let user = row.username.clone().unwrap_or_else(|| "root".into());
    let port = row.ssh_port.unwrap_or(22) as u16;
    let session = tokio::select! {
        r = Session::connect(&row.management_ip, port, &user, &cred, &opts) => r,
        _ = app.hosts.stopping.cancelled() => return Err(()),
    };
    let session = match session {
        Ok(s) => s,
        Err(
            e @ (SshError::PortClosed { .. }
            | SshError::Local { .. }
            | SshError::Unreachable { .. }
            | SshError::Timeout { .. }
            | SshError::Protocol(_)),
        ) => {
            let age = Duration::from_millis((now_ms() - row.create_date).max(0) as u64);
            if age >= GIVE_UP_AFTER {
                tracing::warn!(host.uuid = %uuid, error = %e, "giving up removing the takeover flag of a deleted host that stayed unreachable");
                return Ok(());
            }
            tracing::info!(host.uuid = %uuid, error = %e, "could not reach the deleted host to remove its takeover flag; retried later");
            let _ = app.store.cleanup_tried(uuid).await;
            return Err(());
        }
        Err(e) => {
            tracing::info!(host.uuid = %uuid, error = %e, "cannot log in to the deleted host to remove its takeover flag; leaving it");
            return Ok(());
        }
    };
    // Removed only if it still names this host (as root, or through sudo: see hostplane_ssh::sudo).
    let r = match session.remove_takeover_flag(&path, uuid).await {
        Ok(removed) => {
            if removed {
                tracing::info!(host.uuid = %uuid, "removed the takeover flag of a deleted host");
            }
            Ok(())
        }
        Err(e @ (SshError::Timeout { .. } | SshError::Protocol(_))) => {
            tracing::info!(host.uuid = %uuid, error = %e, "could not remove the takeover flag; retried later");
            let _ = app.store.cleanup_tried(uuid).await;
            Err(())
        }
        Err(e) => {
            tracing::info!(host.uuid = %uuid, error = %e, "could not remove the takeover flag; leaving it");
            Ok(())
        }
    };
    session.close().await;
    r
}

/// Retry every pending flag removal now and every minute, a few at a time, until the node
/// stops.
pub fn start(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            match app.store.cleanups_pending().await {
                Ok(rows) => {
                    let gate = Arc::new(tokio::sync::Semaphore::new(8));
                    for row in rows {
                        let Ok(permit) = gate.clone().acquire_owned().await else {
                            break;
                        };
                        let a = app.clone();
                        tokio::spawn(async move {
                            run_one(a, row.uuid).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, "could not read the pending flag removals; retried later")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                _ = app.hosts.stopping.cancelled() => return,
            }
        }
    });
}
