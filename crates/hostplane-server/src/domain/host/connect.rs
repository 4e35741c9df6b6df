//! The connect flow, shared by AddKVMHost (a *new add*), ReconnectHost and the tracker's
//! automatic reconnects. Its steps, in order — each failure names its step and a fix:
//!
//! 1. `check-state`: a host in (Pre)Maintenance is not connected (SYS.1006).
//! 2. `wait-for-ssh-port`: TCP to ip:sshPort. How long depends on who asks ([`PortWait`]):
//!    a reconnect (ReconnectHost, leaving maintenance) waits up to `kvm.testSshPortOpenTimeout`
//!    for a host that is rebooting; a new add fails at once when the network answers that
//!    nothing is there (connection refused, no route, a name that does not resolve: a typo is
//!    an answer) and waits only while the network is silent; the start-up pass and the
//!    tracker try once and leave a closed port to the tracker.
//! 3. `ssh-login`: handshake, the pinned host key (`verify-host-key`), authentication. On a
//!    reconnect, rejected credentials that worked before mean the password was changed:
//!    HOST.1012, and automatic reconnects stop until UpdateKVMHost.
//! 4. `check-sudo`: read the takeover flag the way every later flag command runs — directly
//!    when the login is root or can write the flag, else through sudo
//!    ([`hostplane_ssh::sudo`]). Writes nothing. A login that needs sudo and cannot use it
//!    fails here, with sudo's reason and both fixes (grant sudo, or a flag path it can write).
//! 5. `check-takeover` (new adds only): refuse a host another manager pinged recently, or one
//!    whose flag names a host this server already manages (the same machine under another IP).
//! 6. `collect-facts`: one script, one SSH session (plus the root-only facts through sudo).
//! 7. `check-virtualization`, `check-memory`, `check-architecture`, `check-os` ([`super::facts`]).
//! 8. `write-takeover-flag`: mark the host as managed by this server.
//! 9. Save facts, capacity, statuses and the pinned key; status Connected; start tracking.
//!
//! A failed reconnect leaves the host Disconnected (tracked, so it can recover); a failed new
//! add is rolled back by [`super::add`]. Connects are single-flight: a second caller for the
//! same host waits for the run in progress and gets its result — unless it asks for
//! `repinHostKey` and the run in progress does not: it then waits for that run to end and runs
//! its own.
//!
//! A connect can be cut short at any step before its result is saved, by DeleteHost, by
//! ChangeHostState maintain (while a reconnect waits for the port) and by the node stopping:
//! it then fails at the step it was at, with reason `HOST.CONNECT.CANCELLED`. No connect
//! starts for a host that is being deleted.

use std::sync::Arc;

use futures::FutureExt;
use hostplane_ssh::{Session, SshError, TakeoverFlag, Unreachable};

use super::disconnect::{mark_disconnected, Why};
use super::events::{self, Change, Kind};
use super::{connect_options, facts, in_maintenance, SharedConnect, CONNECTED, CONNECTING};
use crate::domain::api::operation;
use crate::domain::cancel::Cancel;
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
    /// Why the server connects on its own (`auto-reconnect`, `boot`, ...), for the host's
    /// events; None inside an API's job (the API is the cause).
    pub cause: Option<&'static str>,
    /// How long to wait for the SSH port.
    pub port: PortWait,
}

/// How a connect waits for the host's SSH port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PortWait {
    /// Up to `kvm.testSshPortOpenTimeout` (a host that is rebooting): ReconnectHost, leaving
    /// maintenance.
    #[default]
    Wait,
    /// As `Wait`, but a refusal, no route or an unresolvable name fails at once: a new add.
    FailFast,
    /// One try: the start-up pass and the tracker, which come back to a closed port later.
    Once,
}

/// Why connects are cut short, as [`super::Hosts::cancel_connect`] and the node say it.
pub const CANCEL_DELETED: &str = "the host is being deleted";
pub const CANCEL_MAINTENANCE: &str = "the host was put into maintenance";
pub const CANCEL_STOPPING: &str = "the management node is stopping";

/// What cuts a connect in flight short, on whichever management node runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutShort {
    /// DeleteHost: any connect of the host ends.
    Deleted,
    /// ChangeHostState maintain: a reconnect waiting for the SSH port of a rebooting host ends;
    /// one already logging in finishes.
    Maintain,
}

/// Cut short the host's connect wherever it runs, if `why` applies to it: this node's is cut
/// and waited for (true: there was one); otherwise, with several management nodes, the others
/// are told (`plane::Event::CutConnect`) — a connect holds the host's lease, so one cut there
/// ends before that node lets go of the lease the caller takes next.
pub async fn cut_short_anywhere(app: &App, uuid: &str, why: CutShort) -> bool {
    if let Some(run) = cut_short(app, uuid, why) {
        let _ = run.await;
        return true;
    }
    let event = crate::domain::plane::Event::CutConnect(uuid.to_string(), why);
    app.plane.publish(event).await;
    false
}

/// Cut short this node's connect of the host if one is in flight and `why` applies to it;
/// returns the connect, to wait for its end.
pub fn cut_short(app: &App, uuid: &str, why: CutShort) -> Option<SharedConnect> {
    match why {
        CutShort::Deleted => app.hosts.cancel_connect(uuid, CANCEL_DELETED),
        CutShort::Maintain => {
            let waiting = matches!(
                app.hosts.connect_step(uuid),
                Some(("wait-for-ssh-port", false))
            );
            waiting
                .then(|| app.hosts.cancel_connect(uuid, CANCEL_MAINTENANCE))
                .flatten()
        }
    }
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
        repin: p.repin_host_key.unwrap_or(false),
        ..Mode::default()
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
    loop {
        let (run, joined) = {
            let mut inflight = app.hosts.inflight.lock().expect("inflight");
            match inflight.get(uuid) {
                Some(f) => (f.run.clone(), Some(f.mode)),
                None => {
                    if app.hosts.is_deleting(uuid) {
                        return Err(gone(uuid));
                    }
                    let (a, u) = (app.clone(), uuid.to_string());
                    let step = Arc::new(std::sync::Mutex::new("check-state"));
                    let cancel = Cancel::default();
                    let (st, c) = (step.clone(), cancel.clone());
                    let run = async move {
                        let name = if mode.new_add {
                            "add-host"
                        } else {
                            "reconnect-host"
                        };
                        let r = jobs::host_task(&a, &u, name, run(&a, &u, mode, &st, &c)).await;
                        a.hosts.inflight.lock().expect("inflight").remove(&u);
                        r
                    }
                    .boxed()
                    .shared();
                    inflight.insert(
                        uuid.to_string(),
                        super::Inflight {
                            run: run.clone(),
                            mode,
                            step,
                            cancel,
                        },
                    );
                    (run, None)
                }
            }
        };
        match joined {
            // The run in progress would keep the old pin: let it end, then run our own.
            Some(theirs) if mode.repin && !theirs.repin => {
                let _ = run.await;
            }
            _ => return run.await,
        }
    }
}

fn gone(uuid: &str) -> Error {
    Error::not_found(format!(
        "cannot find host[uuid:{uuid}], it may have been deleted"
    ))
}

/// Record the step a connect is at: for the job's poller and GetHostTask, and for a
/// cancellation.
fn at(step: &std::sync::Mutex<&'static str>, name: &'static str) {
    *step.lock().expect("step") = name;
    jobs::step(name);
}

async fn run(
    app: &Arc<App>,
    uuid: &str,
    mode: Mode,
    step: &std::sync::Mutex<&'static str>,
    cancel: &Cancel,
) -> Result<()> {
    // One connect of a host at a time across management nodes (a new add holds it already).
    let _lease = match mode.new_add {
        true => None,
        false => Some(app.plane.host_lease(uuid).await?),
    };
    let h = app.store.host_get(uuid).await?.ok_or_else(|| gone(uuid))?;
    if in_maintenance(&h.state) {
        return Err(Error::operation(format!(
            "host[uuid:{}, name:{}] is in state[{}], cannot perform required operation",
            h.uuid, h.name, h.state
        ))
        .with_opaque("step", "check-state")
        .with_opaque("reason", "HOST.STATE.MAINTENANCE")
        .with_opaque("hint", "take the host out of maintenance with ChangeHostState stateEvent=enable; that reconnects it"));
    }
    app.store
        .host_set_status(uuid, CONNECTING, now_ms())
        .await
        .map_err(|e| with_hint(Error::from(e), "check-state"))?;
    tracing::info!(host.uuid = %uuid, host.ip = %h.management_ip, new_add = mode.new_add, "connecting host");
    let started = std::time::Instant::now();
    let result = tokio::select! {
        r = connect_steps(app, &h, mode, step) => r,
        why = cancel.cancelled() => Err(cancelled(&h, *step.lock().expect("step"), &why)),
        why = app.hosts.stopping.cancelled() => Err(cancelled(&h, *step.lock().expect("step"), &why)),
    };
    match result {
        Ok(pinned) => {
            tracing::info!(host.uuid = %uuid, duration_ms = started.elapsed().as_millis() as u64, "host connected");
            app.hosts.tracker.track(app, uuid);
            if !mode.new_add {
                connected_events(app, &h, mode, &pinned).await;
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(host.uuid = %uuid, error = %e, "connecting host failed");
            let opaque = |k: &str| {
                e.opaque
                    .as_ref()
                    .and_then(|o| o.get(k))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let reason = opaque("reason");
            if let (Some(step), Some(r)) = (opaque("step"), reason.as_deref()) {
                if r.starts_with("HOST.SSH.") {
                    app.metrics.ssh_error(&step, r);
                }
            }
            if !mode.new_add {
                let why = Why {
                    was: &h.status,
                    cause: mode.cause,
                    reason: reason.as_deref().or(Some(e.code.as_str())),
                };
                mark_disconnected(app, uuid, why).await;
                app.hosts.tracker.track(app, uuid);
                if e.has_code(Code::HostPasswordChanged) {
                    app.hosts.tracker.password_changed(uuid);
                }
            }
            Err(with_hint(e, *step.lock().expect("step")))
        }
    }
}

/// A connect cut short at `step`.
fn cancelled(h: &HostRow, step: &str, why: &str) -> Error {
    let hint = match why {
        CANCEL_DELETED => "nothing to do: DeleteHost stopped the connect and removes the host",
        CANCEL_MAINTENANCE => {
            "enable the host (ChangeHostState stateEvent=enable) to connect it again"
        }
        _ => "the connect runs again when the server is back (host.reconnectAllOnBoot), or call ReconnectHost",
    };
    Error::operation(format!(
        "connecting host[uuid:{}, ip:{}] stopped at step [{step}]: {why}",
        h.uuid, h.management_ip
    ))
    .with_opaque("step", step)
    .with_opaque("reason", "HOST.CONNECT.CANCELLED")
    .with_opaque("hint", hint)
}

/// Every failed connect names its step and a fix: an error that has none yet (a store failure,
/// say) gets the step the connect was at and a generic fix.
fn with_hint(e: Error, step: &str) -> Error {
    let has = |e: &Error, k: &str| e.opaque.as_ref().is_some_and(|o| o.contains_key(k));
    let e = if has(&e, "step") {
        e
    } else {
        e.with_opaque("step", step)
    };
    if has(&e, "hint") {
        return e;
    }
    let hint = e.store_hint().unwrap_or(
        "see the details and the server log for the cause; fix it, then call ReconnectHost (or add the host again)",
    );
    e.with_opaque("hint", hint)
}

/// The events a successful reconnect records: the status it settled (if it changed), the
/// reconnect, and a re-pinned key.
async fn connected_events(app: &App, h: &HostRow, mode: Mode, pinned: &str) {
    if h.status != CONNECTED {
        let c = Change::new(Kind::StatusChanged, Some(&h.status), Some(CONNECTED));
        events::record(app, &h.uuid, c.cause(mode.cause)).await;
    }
    let c = Change::new(Kind::Reconnected, Some(&h.status), Some(CONNECTED));
    events::record(app, &h.uuid, c.cause(mode.cause)).await;
    if let Some(old) = h.host_key_fingerprint.as_deref() {
        if mode.repin && old != pinned {
            let c = Change::new(Kind::HostKeyRepinned, Some(old), Some(pinned));
            events::record(app, &h.uuid, c.cause(mode.cause)).await;
        }
    }
}

/// The connect itself; the host key it pinned.
async fn connect_steps(
    app: &Arc<App>,
    h: &HostRow,
    mode: Mode,
    step: &std::sync::Mutex<&'static str>,
) -> Result<String> {
    at(step, "load-credential");
    let cred = app.hosts.credential(h).map_err(|e| {
        e.with_opaque("step", "load-credential")
            .with_opaque("reason", "HOST.SSH.BAD_KEY")
            .with_opaque("hint", "the stored credential cannot be decrypted with this server's secret key (was HOSTPLANE_SECRET_KEY or <data-dir>/secret.key changed?): restore the key, or set the credentials again with UpdateKVMHost")
    })?;
    let pin = if mode.repin {
        None
    } else {
        h.host_key_fingerprint.clone()
    };
    let mut opts = connect_options(app, pin);
    match mode.port {
        PortWait::Wait => {}
        PortWait::FailFast => opts.fail_fast = true,
        PortWait::Once => opts.port_wait = std::time::Duration::ZERO,
    }
    let user = h.username.clone().unwrap_or_else(|| "root".into());
    let port = h.ssh_port.unwrap_or(22) as u16;
    // Progress only: the connect below waits for the port itself.
    let open_now = super::port_open(app, &h.management_ip, port, opts.tcp_connect_timeout).await;
    at(
        step,
        if open_now {
            "ssh-login"
        } else {
            "wait-for-ssh-port"
        },
    );
    let session = Session::connect(&h.management_ip, port, &user, &cred, &opts)
        .await
        .map_err(|e| ssh_error(h, &user, port, e, mode))?;
    let result = steps_on_session(app, h, mode, &session, step).await;
    let pinned = session.host_key_fingerprint().to_string();
    session.close().await;
    result.map(|()| pinned)
}

async fn steps_on_session(
    app: &Arc<App>,
    h: &HostRow,
    mode: Mode,
    session: &Session,
    step: &std::sync::Mutex<&'static str>,
) -> Result<()> {
    let flag_path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    at(step, "check-sudo");
    let access = session
        .check_access(&flag_path)
        .await
        .map_err(|e| sudo_step(h, session.username(), "check-sudo", &flag_path, e))?;
    if mode.new_add {
        at(step, "check-takeover");
        check_takeover(app, h, &access.flag, &flag_path).await?;
    }
    at(step, "collect-facts");
    let f = session
        .collect_facts_with(&access)
        .await
        .map_err(|e| ssh_step(h, "collect-facts", e))?;
    if let Some(why) = &f.root_facts_error {
        tracing::warn!(host.uuid = %h.uuid, error = %why, "facts that need root could not be read through sudo");
    }
    at(step, "check-host");
    facts::check(app, h, &f, mode.new_add).await?;
    at(step, "write-takeover-flag");
    session
        .write_takeover_flag(&flag_path, &h.uuid)
        .await
        .map_err(|e| match e {
            SshError::Sudo { .. } => {
                sudo_step(h, session.username(), "write-takeover-flag", &flag_path, e)
            }
            e => ssh_step(h, "write-takeover-flag", e).with_opaque(
                "hint",
                format!(
                    "hostplane marks a host it manages in {flag_path}; let the login user write there, or point the global config kvm.takeOverFlagPath at a path it can write (for example ~/.hostplane/takeOver)"
                ),
            ),
        })?;
    at(step, "save");
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

/// Decide on the flag `check-sudo` read at `path`.
pub(super) async fn check_takeover(
    app: &App,
    h: &HostRow,
    flag: &std::result::Result<Option<TakeoverFlag>, SshError>,
    path: &str,
) -> Result<()> {
    let flag = match flag {
        Ok(f) => f,
        Err(e) => {
            // As in ZStack: a flag that cannot be read does not block the add.
            tracing::warn!(host.uuid = %h.uuid, error = %e, path, "could not read the takeover flag");
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
pub(super) fn ssh_error(h: &HostRow, user: &str, port: u16, e: SshError, mode: Mode) -> Error {
    let ip = &h.management_ip;
    let (step, reason, details, hint) = match &e {
        SshError::PortClosed { waited, .. } => (
            "wait-for-ssh-port",
            "HOST.SSH.PORT_CLOSED",
            format!("the host[{ip}] ssh port[{port}] not open after {} seconds, connect timeout", waited.as_secs()),
            format!("check that sshd runs on {ip}, listens on port {port}, and that no firewall blocks it from the management server"),
        ),
        SshError::Local { .. } => (
            "wait-for-ssh-port",
            LOCAL_REASON,
            e.to_string(),
            e.hint().to_string(),
        ),
        SshError::Unreachable { cause, .. } => (
            "wait-for-ssh-port",
            match cause {
                Unreachable::Refused => "HOST.SSH.PORT_REFUSED",
                Unreachable::NoRoute => "HOST.SSH.NO_ROUTE",
                Unreachable::NameNotResolved => "HOST.SSH.NAME_NOT_RESOLVED",
            },
            e.to_string(),
            e.hint().to_string(),
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

/// The error of a step that needs sudo: sudo's reason as `HOST.SUDO.<PROBLEM>`, and both fixes
/// (sudo for hostplane's helper, or a flag path the login user can write). Other errors as
/// [`ssh_step`].
pub(super) fn sudo_step(
    h: &HostRow,
    user: &str,
    step: &str,
    flag_path: &str,
    e: SshError,
) -> Error {
    let SshError::Sudo { problem, .. } = &e else {
        return ssh_step(h, step, e);
    };
    let reason = format!(
        "HOST.SUDO.{}",
        problem.as_str().to_ascii_uppercase().replace('-', "_")
    );
    let hint = format!(
        "{}; or point the global config kvm.takeOverFlagPath at a path user {user} can write (for example ~/.hostplane/takeOver): hostplane then runs nothing with sudo, and facts that need root are missing",
        problem.hint()
    );
    let details = format!(
        "user {user} on host[uuid:{}, ip:{}] is not root and needs sudo for the takeover flag {flag_path}: {e}",
        h.uuid, h.management_ip
    );
    Error::operation(format!("{details}. Step [{step}] failed; fix: {hint}"))
        .with_opaque("step", step)
        .with_opaque("reason", reason)
        .with_opaque("hint", hint)
}

/// The stable reason of an SSH failure (as in the `reason` of add and reconnect errors).
/// The reason of an SSH failure that was this management server's own (out of open files,
/// socket memory or local ports), not the host's: nothing is concluded about the host from it.
pub const LOCAL_REASON: &str = "HOST.SSH.LOCAL";

pub fn ssh_reason(e: &SshError) -> &'static str {
    match e {
        SshError::PortClosed { .. } => "HOST.SSH.PORT_CLOSED",
        SshError::Local { .. } => LOCAL_REASON,
        SshError::Unreachable {
            cause: Unreachable::Refused,
            ..
        } => "HOST.SSH.PORT_REFUSED",
        SshError::Unreachable {
            cause: Unreachable::NoRoute,
            ..
        } => "HOST.SSH.NO_ROUTE",
        SshError::Unreachable {
            cause: Unreachable::NameNotResolved,
            ..
        } => "HOST.SSH.NAME_NOT_RESOLVED",
        SshError::AuthFailed { .. } => "HOST.SSH.AUTH_FAILED",
        SshError::HostKeyMismatch { .. } => "HOST.SSH.HOST_KEY_CHANGED",
        SshError::Timeout { .. } => "HOST.SSH.TIMEOUT",
        SshError::Protocol(_) => "HOST.SSH.PROTOCOL",
        SshError::BadKey(_) => "HOST.SSH.BAD_KEY",
        SshError::Command { .. } => "HOST.SSH.COMMAND_FAILED",
        SshError::Sudo { .. } => "HOST.SUDO.FAILED",
    }
}

/// The error of an SSH command that failed at `step`, with the connector's hint for it
/// (a caller with a more precise fix replaces it).
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
    .with_opaque("reason", reason)
    .with_opaque("hint", e.hint());
    if !stderr.is_empty() {
        err = err.with_opaque("stderr", stderr);
    }
    err
}
