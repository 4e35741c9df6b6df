//! KVM hosts: the heart of hostplane.
//!
//! - [`add`]: AddKVMHost — validation, the `Connecting` row, the first connect, rollback.
//! - [`check`]: CheckKVMHost — every admission check with every finding, nothing written.
//! - [`bulk`]: AddKVMHostFromConfigFile, CheckKVMHostConfigFile (a CSV host file) and
//!   GetHostTask (the running adds and reconnects of hosts, with their step).
//! - [`connect`]: the connect flow shared by add, ReconnectHost and automatic reconnects;
//!   single-flight per host; every failure names its step and a fix.
//! - [`facts`]: what a connect learned, turned into inventory columns and system tags, and the
//!   checks (virtualization, memory, architecture, OS) that decide whether a host may join.
//! - [`state`]: the admin state machine (Enabled, Disabled, PreMaintenance, Maintenance) and
//!   ChangeHostState.
//! - [`update`]: UpdateHost and UpdateKVMHost.
//! - [`delete`]: DeleteHost, Permissive and Enforcing; [`cleanup`]: removing a deleted host's
//!   takeover flag, durably (it survives a crash and is retried while the host is unreachable).
//! - [`tracker`]: pinging hosts, reconnecting them, and taking all hosts back under management
//!   when the server starts; [`disconnect`]: marking hosts Disconnected, many in one write when
//!   they fail together.
//! - [`crypto`]: host credentials encrypted at rest.
//! - [`events`]: what happened to each host (QueryHostEvent), recorded where it happens;
//!   [`event_hooks`]: webhook subscriptions to those events and their delivery.
//!
//! The SSH work itself is the `hostplane-ssh` crate's; this module decides what to do with it.
//! Nothing here knows HTTP. A host password never appears in a log line or an error.

pub mod add;
pub mod bulk;
pub mod check;
pub mod cleanup;
pub mod connect;
pub mod crypto;
pub mod delete;
pub mod disconnect;
pub mod event_hooks;
pub mod events;
pub mod facts;
pub mod state;
pub mod tracker;
pub mod update;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, Shared};
use tokio::sync::Notify;

use crate::error::Error;
use crate::store::hosts::HostRow;
use hostplane_ssh::{ConnectOptions, Credential};

use super::cancel::Cancel;
use super::global_config::keys;
pub use crypto::{Crypto, Secret};

/// Host statuses (the connection).
pub const CONNECTING: &str = "Connecting";
pub const CONNECTED: &str = "Connected";
pub const DISCONNECTED: &str = "Disconnected";
/// Host states (the admin's intent).
pub const ENABLED: &str = "Enabled";
pub const DISABLED: &str = "Disabled";
pub const PRE_MAINTENANCE: &str = "PreMaintenance";
pub const MAINTENANCE: &str = "Maintenance";

pub fn in_maintenance(state: &str) -> bool {
    state == MAINTENANCE || state == PRE_MAINTENANCE
}

/// The resource type hosts' tags are filed under.
pub const HOST_VO: &str = "HostVO";

pub(crate) type SharedConnect = Shared<BoxFuture<'static, Result<(), Error>>>;

/// A connect in flight: its run (callers join it), how it was asked for, the step it is at,
/// and how to cut it short.
struct Inflight {
    run: SharedConnect,
    mode: connect::Mode,
    step: Arc<Mutex<&'static str>>,
    cancel: Cancel,
}

/// Runtime state of host management, owned by [`super::App`].
pub struct Hosts {
    pub crypto: Crypto,
    /// Connects in flight, by host uuid: a second caller joins the first one's run.
    inflight: Mutex<HashMap<String, Inflight>>,
    /// Hosts a DeleteHost is removing: no connect starts for them.
    deleting: Mutex<HashMap<String, usize>>,
    /// Set when the node stops: connects give up, the tracker and the start-up pass end.
    pub stopping: Cancel,
    /// Takeover-flag removals running now, by host uuid (see [`cleanup`]).
    cleaning: Mutex<std::collections::HashSet<String>>,
    /// One add at a time per management IP.
    ip_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Bounds the adds connecting at once (`host.add.parallelismDegree`).
    add_gate: Gate,
    pub tracker: tracker::Tracker,
    /// Hosts waiting to be marked Disconnected, written in groups.
    disconnects: disconnect::Disconnects,
}

impl Hosts {
    pub fn new(crypto: Crypto) -> Hosts {
        Hosts {
            crypto,
            inflight: Mutex::new(HashMap::new()),
            deleting: Mutex::new(HashMap::new()),
            stopping: Cancel::default(),
            cleaning: Mutex::new(Default::default()),
            ip_locks: Mutex::new(HashMap::new()),
            add_gate: Gate::default(),
            tracker: tracker::Tracker::default(),
            disconnects: Default::default(),
        }
    }

    fn ip_lock(&self, ip: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.ip_locks.lock().expect("ip locks");
        m.retain(|_, l| Arc::strong_count(l) > 1); // forget idle locks
        m.entry(ip.to_string()).or_default().clone()
    }

    /// Cut the host's connect in flight short (if one runs); returns its run, to wait for its
    /// end.
    pub fn cancel_connect(&self, uuid: &str, why: &str) -> Option<SharedConnect> {
        let inflight = self.inflight.lock().expect("inflight");
        let f = inflight.get(uuid)?;
        f.cancel.cancel(why);
        Some(f.run.clone())
    }

    /// The step the host's connect in flight is at, and whether it is a new add.
    pub fn connect_step(&self, uuid: &str) -> Option<(&'static str, bool)> {
        let inflight = self.inflight.lock().expect("inflight");
        let f = inflight.get(uuid)?;
        let step = *f.step.lock().expect("step");
        Some((step, f.mode.new_add))
    }

    /// How many connects are in flight.
    pub fn connects_in_flight(&self) -> usize {
        self.inflight.lock().expect("inflight").len()
    }

    /// Mark a host as being deleted until the guard drops: no connect starts for it meanwhile.
    pub fn deleting(&self, uuid: &str) -> DeletingGuard<'_> {
        *self
            .deleting
            .lock()
            .expect("deleting")
            .entry(uuid.to_string())
            .or_default() += 1;
        DeletingGuard(self, uuid.to_string())
    }

    fn is_deleting(&self, uuid: &str) -> bool {
        self.deleting.lock().expect("deleting").contains_key(uuid)
    }

    /// The SSH credential stored for a host.
    pub fn credential(&self, h: &HostRow) -> Result<Credential, Error> {
        let sealed = h.credential.as_deref().ok_or_else(|| {
            Error::operation(format!("host[uuid:{}] has no stored credential", h.uuid))
        })?;
        self.open_credential(&h.uuid, sealed)
    }

    /// Open a sealed credential of host `uuid`.
    pub fn open_credential(&self, uuid: &str, sealed: &str) -> Result<Credential, Error> {
        Ok(match self.crypto.open(uuid, sealed)? {
            Secret::Password(p) => Credential::Password(p),
            Secret::PrivateKey { pem, password } => Credential::PrivateKey {
                pem,
                passphrase: password,
            },
        })
    }
}

/// While alive, the host is being deleted ([`Hosts::deleting`]).
pub struct DeletingGuard<'a>(&'a Hosts, String);

impl Drop for DeletingGuard<'_> {
    fn drop(&mut self) {
        let mut m = self.0.deleting.lock().expect("deleting");
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

/// APIGetHypervisorTypesMsg's parameters: tags only.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct GetHypervisorTypes(pub super::management_node::TagsOnly);

super::api::operation!(GetHypervisorTypes => get_hypervisor_types);

/// ZStack: APIGetHypervisorTypesMsg, GET /v1/hosts/hypervisor-types — hostplane manages KVM.
pub async fn get_hypervisor_types(
    _: &Arc<super::App>,
    _: GetHypervisorTypes,
) -> Result<super::Output, Error> {
    Ok(super::Output::HypervisorTypes(vec!["KVM".into()]))
}

/// SSH options for connects, from the `kvm` configs, from this node's SSH source address.
pub fn connect_options(app: &super::App, expected_host_key: Option<String>) -> ConnectOptions {
    let c = &app.configs;
    ConnectOptions {
        port_wait: c.get(keys::KVM_SSH_PORT_OPEN_TIMEOUT),
        tcp_connect_timeout: c
            .get(keys::KVM_SSH_PORT_CONNECT_TIMEOUT)
            .max(Duration::from_secs(1)),
        auth_timeout: c.get(keys::KVM_SSH_AUTH_TIMEOUT),
        command_timeout: c.get(keys::KVM_SSH_COMMAND_TIMEOUT),
        fail_fast: false,
        expected_host_key,
        source_address: app.node.ssh_source,
    }
}

/// Whether something accepts TCP on ip:port within `timeout` (from this node's SSH source
/// address).
pub async fn port_open(app: &super::App, ip: &str, port: u16, timeout: Duration) -> bool {
    let connect = hostplane_ssh::tcp_connect(ip, port, app.node.ssh_source);
    matches!(tokio::time::timeout(timeout, connect).await, Ok(Ok(_)))
}

/// A counting gate whose limit is read at every entry, so a config change applies at once.
///
/// A leaving holder wakes one waiter, not all of them: with thousands waiting (a bulk add, a
/// burst of pings) waking every waiter on every release costs O(waiters²) wake-ups. A waiter
/// that enters and still sees room (the limit was raised) passes the wake-up on.
#[derive(Default)]
pub(crate) struct Gate {
    running: Mutex<usize>,
    notify: Notify,
}

pub(crate) struct GateGuard<'a>(&'a Gate);

impl Gate {
    pub(crate) async fn enter(&self, limit: usize) -> GateGuard<'_> {
        let limit = limit.max(1);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut n = self.running.lock().expect("gate");
                if *n < limit {
                    *n += 1;
                    if *n < limit {
                        self.notify.notify_one();
                    }
                    return GateGuard(self);
                }
            }
            notified.await;
        }
    }

    /// Enter only if there is room now.
    pub(crate) fn try_enter(&self, limit: usize) -> Option<GateGuard<'_>> {
        let mut n = self.running.lock().expect("gate");
        if *n < limit.max(1) {
            *n += 1;
            Some(GateGuard(self))
        } else {
            None
        }
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().expect("gate") -= 1;
        self.0.notify.notify_one();
    }
}
