//! The connect flow, shared by AddKVMHost (a *new add*), ReconnectHost and the tracker's
//! automatic reconnects. Its steps, in order — each failure names its step and a fix:
//!
//! 1. `check-state`: a host in (Pre)Maintenance is not connected (SYS.1006).
//! 2. `wait-for-ssh-port`: TCP to ip:sshPort until `kvm.testSshPortOpenTimeout`.
//! 3. `ssh-login`: handshake, the pinned host key (`verify-host-key`), authentication. On a
//!    reconnect, rejected credentials that worked before mean the password was changed:
//!    HOST.1012, and automatic reconnects stop until UpdateKVMHost.
//! 4. `check-takeover` (new adds only): refuse a host another manager pinged recently, or one
//!    whose flag names a host this server already manages (the same machine under another IP).
//! 5. `collect-facts`: one script, one SSH session.
//! 6. `check-virtualization`, `check-memory`, `check-architecture`, `check-os` ([`super::facts`]).
//! 7. `write-takeover-flag`: mark the host as managed by this server.
//! 8. Save facts, capacity, statuses and the pinned key; status Connected; start tracking.
//!
//! A failed reconnect leaves the host Disconnected (tracked, so it can recover); a failed new
//! add is rolled back by [`super::add`]. Connects are single-flight: a second caller for the
//! same host waits for the run in progress and gets its result.

use std::sync::Arc;

use futures::FutureExt;
use hostplane_ssh::{Session, SshError};

use super::{connect_options, facts, in_maintenance, CONNECTING, DISCONNECTED};
use crate::domain::api::operation;
use crate::domain::catalogue::HOST;
use crate::domain::global_config::keys;
use crate::domain::{jobs, query, App, Output};
use crate::error::{Code, Error, Result};
use crate::store::hosts::HostRow;
use crate::time::now_ms;

#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// The first connect of AddKVMHost: takeover and OS checks apply; nothing to fall back to.
    pub new_add: bool,
    /// Accept whatever host key the host presents now, and pin it.
    pub repin: bool,
}

/// APIReconnectHostMsg's parameters, with hostplane's `repinHostKey`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconnectHost {
    pub uuid: String,
    pub repin_host_key: Option<bool>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(ReconnectHost => reconnect_host);

/// ZStack: APIReconnectHostMsg, PUT /v1/hosts/{uuid}/actions {"reconnectHost": {}}
pub async fn reconnect_host(app: &Arc<App>, p: ReconnectHost) -> Result<Output> {
    let uuid = p.uuid.as_str();
    let mode = Mode {
        new_add: false,
        repin: p.repin_host_key.unwrap_or(false),
    };
    connect(app, uuid, mode).await.map_err(|e| {
        Error::wrap(
            Code::UnableToReconnectHost,
            format!("unable to reconnect host[uuid:{uuid}]"),
            e,
        )
    })?;
    Ok(Output::Inventory(
        query::inventory_of(app, &HOST, uuid).await?,
    ))
}

/// Connect a host (single-flight per host).
pub async fn connect(app: &Arc<App>, uuid: &str, mode: Mode) -> Result<()> {
    let fut = {
        let mut inflight = app.hosts.inflight.lock().expect("inflight");
        match inflight.get(uuid) {
            Some(f) => f.clone(),
            None => {
                let (a, u) = (app.clone(), uuid.to_string());
                let f = async move {
                    let r = run(&a, &u, mode).await;
                    a.hosts.inflight.lock().expect("inflight").remove(&u);
                    r
                }
                .boxed()
                .shared();
                inflight.insert(uuid.to_string(), f.clone());
                f
            }
        }
    };
    fut.await
}

async fn run(app: &Arc<App>, uuid: &str, mode: Mode) -> Result<()> {
    // One connect of a host at a time across management nodes (a new add holds it already).
    let _lease = match mode.new_add {
        true => None,
        false => Some(app.plane.host_lease(uuid).await?),
    };
    let h = app.store.host_get(uuid).await?.ok_or_else(|| {
        Error::not_found(format!(
            "cannot find host[uuid:{uuid}], it may have been deleted"
        ))
    })?;
    if in_maintenance(&h.state) {
        return Err(Error::operation(format!(
            "host[uuid:{}, name:{}] is in state[{}], cannot perform required operation",
            h.uuid, h.name, h.state
        ))
        .with_opaque("step", "check-state")
        .with_opaque("hint", "take the host out of maintenance with ChangeHostState stateEvent=enable; that reconnects it"));
    }
    app.store
        .host_set_status(uuid, CONNECTING, now_ms())
        .await?;
    tracing::info!(host.uuid = %uuid, host.ip = %h.management_ip, new_add = mode.new_add, "connecting host");
    let started = std::time::Instant::now();
    match connect_steps(app, &h, mode).await {
        Ok(()) => {
            tracing::info!(host.uuid = %uuid, duration_ms = started.elapsed().as_millis() as u64, "host connected");
            app.hosts.tracker.track(app, uuid);
            Ok(())
        }
        Err(e) => {
            tracing::warn!(host.uuid = %uuid, error = %e, "connecting host failed");
            if !mode.new_add {
                mark_disconnected(app, uuid).await;
                app.hosts.tracker.track(app, uuid);
                if e.has_code(Code::HostPasswordChanged) {
                    app.hosts.tracker.password_changed(uuid);
                }
            }
            Err(e)
        }
    }
}

/// Disconnected: the status, and the `ConnectedTime::` tag goes.
pub async fn mark_disconnected(app: &App, uuid: &str) {
    match app
        .store
        .host_set_status(uuid, DISCONNECTED, now_ms())
        .await
    {
        Ok(Some(old)) if old != DISCONNECTED => {
            tracing::warn!(host.uuid = %uuid, old_status = %old, "host is Disconnected");
            if let Err(e) = app.store.tags_remove_prefix(uuid, "ConnectedTime::").await {
                tracing::error!(host.uuid = %uuid, error = %e, "could not remove the ConnectedTime tag");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(host.uuid = %uuid, error = %e, "could not record Disconnected"),
    }
}

async fn connect_steps(app: &Arc<App>, h: &HostRow, mode: Mode) -> Result<()> {
    let cred = app
        .hosts
        .credential(h)
        .map_err(|e| e.with_opaque("step", "load-credential"))?;
    let pin = if mode.repin {
        None
    } else {
        h.host_key_fingerprint.clone()
    };
    let opts = connect_options(app, pin);
    let user = h.username.clone().unwrap_or_else(|| "root".into());
    let port = h.ssh_port.unwrap_or(22) as u16;
    // Progress only: the connect below waits for the port itself.
    let open_now = super::port_open(app, &h.management_ip, port, opts.tcp_connect_timeout).await;
    jobs::step(if open_now {
        "ssh-login"
    } else {
        "wait-for-ssh-port"
    });
    let session = Session::connect(&h.management_ip, port, &user, &cred, &opts)
        .await
        .map_err(|e| ssh_error(h, &user, port, e, mode))?;
    let result = steps_on_session(app, h, mode, &session).await;
    session.close().await;
    result
}

async fn steps_on_session(
    app: &Arc<App>,
    h: &HostRow,
    mode: Mode,
    session: &Session,
) -> Result<()> {
    let flag_path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    if mode.new_add {
        jobs::step("check-takeover");
        check_takeover(app, h, session, &flag_path).await?;
    }
    jobs::step("collect-facts");
    let f = session
        .collect_facts()
        .await
        .map_err(|e| ssh_step(h, "collect-facts", e))?;
    jobs::step("check-host");
    facts::check(app, h, &f, mode.new_add).await?;
    jobs::step("write-takeover-flag");
    session.write_takeover_flag(&flag_path, &h.uuid).await.map_err(|e| {
        ssh_step(h, "write-takeover-flag", e).with_opaque(
            "hint",
            format!(
                "hostplane marks a host it manages in {flag_path}; let the login user write there, or point the global config kvm.takeOverFlagPath at a path it can write (for example ~/.hostplane/takeOver)"
            ),
        )
    })?;
    facts::save(
        app,
        h,
        &f,
        session.host_key_fingerprint(),
        session.host_key_openssh(),
    )
    .await?;
    Ok(())
}

async fn check_takeover(app: &App, h: &HostRow, session: &Session, path: &str) -> Result<()> {
    let flag = match session.read_takeover_flag(path).await {
        Ok(f) => f,
        Err(e) => {
            // As in ZStack: a flag that cannot be read does not block the add.
            tracing::warn!(host.uuid = %h.uuid, error = %e, "could not read the takeover flag");
            return Ok(());
        }
    };
    let Some(flag) = flag else { return Ok(()) };
    let owner = flag.host_uuid.clone().unwrap_or_default();
    if owner == h.uuid {
        return Ok(());
    }
    let interval = app.configs.get(keys::HOST_PING_INTERVAL).as_secs().max(1);
    let refuse = |why: String, hint: String| {
        Error::operation(format!(
            "the host[ip:{}] has been taken over, because {why}",
            h.management_ip
        ))
        .with_opaque("step", "check-takeover")
        .with_opaque("reason", "HOST.PREFLIGHT.TAKEN_OVER")
        .with_opaque("hint", hint)
    };
    if flag.age_secs < interval {
        return Err(refuse(
            format!(
                "the takeover flag[HostUuid:{owner}] already exists and utime[{}] has not exceeded host ping interval[{interval}]",
                flag.age_secs
            ),
            format!("another management server pinged this host {} s ago; remove the host there first, or wait {interval} s after it stops", flag.age_secs),
        ));
    }
    if !owner.is_empty() && app.store.exists("host", &owner).await? {
        return Err(refuse(
            format!("flag[HostUuid:{owner}] exists in the database"),
            format!("this machine is already managed here as host {owner} (under another address); delete that host first"),
        ));
    }
    Ok(())
}

/// The error of a failed SSH step, with the step, a stable reason and a fix.
fn ssh_error(h: &HostRow, user: &str, port: u16, e: SshError, mode: Mode) -> Error {
    let ip = &h.management_ip;
    let (step, reason, details, hint) = match &e {
        SshError::PortClosed { waited, .. } => (
            "wait-for-ssh-port",
            "HOST.SSH.PORT_CLOSED",
            format!("the host[{ip}] ssh port[{port}] not open after {} seconds, connect timeout", waited.as_secs()),
            format!("check that sshd runs on {ip}, listens on port {port}, and that no firewall blocks it from the management server"),
        ),
        SshError::AuthFailed { .. } if !mode.new_add => {
            return Error::new(
                Code::HostPasswordChanged,
                format!(
                    "host password has been changed. Please update host password in management node by UpdateKVMHostAction with host UUID[{}]",
                    h.uuid
                ),
            )
            .with_opaque("step", "ssh-login")
            .with_opaque("reason", "HOST.SSH.AUTH_FAILED")
            .with_opaque("hint", "the stored credentials no longer work: set the new ones with UpdateKVMHost, then ReconnectHost");
        }
        SshError::AuthFailed { .. } => (
            "ssh-login",
            "HOST.SSH.AUTH_FAILED",
            format!("unable to connect to KVM[ip:{ip}, username:{user}, sshPort:{port}]: authentication failed, please check if username/password is wrong"),
            "check the username and password (or private key); the SSH server must allow this login method (PasswordAuthentication, PermitRootLogin)".to_string(),
        ),
        SshError::HostKeyMismatch { expected, actual } => (
            "verify-host-key",
            "HOST.SSH.HOST_KEY_CHANGED",
            format!("the SSH host key of {ip} changed: pinned {expected}, the host presented {actual}"),
            "if the host was reinstalled or its keys were regenerated on purpose, reconnect with repinHostKey=true to pin the new key; otherwise treat it as a possible interception and find out why".to_string(),
        ),
        SshError::Timeout { stage } => (
            "ssh-login",
            "HOST.SSH.TIMEOUT",
            format!("SSH to {ip}:{port} timed out during {stage}"),
            "the host accepts TCP but SSH does not answer in time: check the host's load and sshd, or raise kvm.ssh.authTimeout".to_string(),
        ),
        SshError::Protocol(m) => (
            "ssh-login",
            "HOST.SSH.PROTOCOL",
            format!("SSH to {ip}:{port} failed: {m}"),
            "check that the port runs an SSH server that accepts modern algorithms (ed25519/ecdsa/rsa-sha2 keys, curve25519 or ecdh key exchange)".to_string(),
        ),
        SshError::BadKey(m) => (
            "load-credential",
            "HOST.SSH.BAD_KEY",
            format!("the private key for {ip} cannot be used: {m}"),
            "give an OpenSSH or PEM private key; for an encrypted key, give its passphrase as password".to_string(),
        ),
        _ => return ssh_step(h, "ssh-login", e),
    };
    Error::operation(format!("{details}. Step [{step}] failed; fix: {hint}"))
        .with_opaque("step", step)
        .with_opaque("reason", reason)
        .with_opaque("hint", hint)
}

/// The error of an SSH command that failed at `step`.
pub fn ssh_step(h: &HostRow, step: &str, e: SshError) -> Error {
    let (reason, stderr) = match &e {
        SshError::Command { stderr_tail, .. } => ("HOST.SSH.COMMAND_FAILED", stderr_tail.clone()),
        SshError::Timeout { .. } => ("HOST.SSH.TIMEOUT", String::new()),
        _ => ("HOST.SSH.CONNECTION_LOST", String::new()),
    };
    let mut err = Error::operation(format!(
        "step [{step}] on host[uuid:{}, ip:{}] failed: {e}",
        h.uuid, h.management_ip
    ))
    .with_opaque("step", step)
    .with_opaque("reason", reason);
    if !stderr.is_empty() {
        err = err.with_opaque("stderr", stderr);
    }
    err
}
