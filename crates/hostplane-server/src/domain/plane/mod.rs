//! The management plane: several `hostplane serve` processes on one PostgreSQL database acting
//! as one server (docs/scale-out.md). SQLite is the one-node store: there the plane is *solo*
//! — this node owns every host, nothing is fenced, leases are no-ops — and a second process on
//! the same SQLite file is refused ([`lock_sqlite`]).
//!
//! - **Membership** ([`membership`]): every node writes a heartbeat into `management_node`
//!   every `managementServer.node.heartbeatInterval` seconds (2), from a thread and a database
//!   connection of its own, and reads the others' four times per interval; a node whose
//!   heartbeat is older than `managementServer.node.deadAfter` (6 s) by the *database's* clock
//!   is dead: one of the others drops its leases, rolls back or disconnects the hosts it was
//!   adding or connecting, fails its running jobs, and removes its row. A node that stops
//!   (SIGTERM) marks itself long dead, so the same happens at once.
//! - **Ownership** ([`ring`]): each host is pinged by exactly one live node, chosen by a
//!   consistent hash of its uuid over the live nodes. The ping tracker asks [`Plane::owns`];
//!   when the live set changes, the tracker's tasks follow (`membership::reconcile`).
//! - **Fencing**: a node that could not write its heartbeat for `deadAfter − heartbeatInterval`
//!   stops pinging and reconnecting ([`Plane::fenced`]) — before the others may declare it dead
//!   and take its hosts — and a node that (re)joins waits one heartbeat interval before it
//!   pings, until the others have seen it and let its share go. So no host is pinged by two
//!   nodes at once.
//! - **Leases** ([`lease`]): per-host serialisation across nodes (adds of one IP, connects,
//!   deletes, state changes) as rows with an expiry in the database.
//! - **Notifications** ([`notify`]): PostgreSQL LISTEN/NOTIFY tells the other nodes at once of
//!   a global config change, of a host to track, of a node that joined or left, and of a
//!   host's connect to cut short (DeleteHost, maintain).
//!
//! Time for membership and leases is always the database's; a node's own clock only measures
//! intervals (monotonic). This module never pings a host itself and never decides a host's
//! state beyond rolling back an add or disconnecting a connect that a dead node cut off.

pub mod lease;
pub mod membership;
pub mod notify;
pub mod ring;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::global_config::{keys, Configs};
use crate::error::Result;
use crate::store::Store;
pub use lease::Lease;
pub use membership::{leave, start};
pub use notify::Event;
use ring::Ring;

/// How far ahead of the dead-node limit a node stops pinging when it cannot write its
/// heartbeat, and how long a joining node waits past one heartbeat interval: the margin that
/// keeps two nodes from pinging one host at once.
const MARGIN: Duration = Duration::from_secs(1);

/// This node's part in the management plane. Owned by [`super::App`].
pub struct Plane {
    node: String,
    store: Store,
    configs: Configs,
    shared: Option<Shared>,
    /// The SQLite lock, held for the life of the process.
    _sqlite_lock: Option<File>,
}

/// The state of a node of a shared (PostgreSQL) plane.
struct Shared {
    database_url: String,
    ring: RwLock<Arc<Ring>>,
    fence: Arc<Fence>,
    /// Wakes the membership loop for a round now (a peer joined or left).
    round_now: Notify,
    /// The next round reconciles the tracked hosts even if the live nodes did not change.
    resync: AtomicBool,
}

impl Plane {
    /// The one-node plane of the SQLite store, holding `sqlite_lock`.
    pub fn solo(node: String, store: Store, configs: Configs, sqlite_lock: Option<File>) -> Plane {
        Plane {
            node,
            store,
            configs,
            shared: None,
            _sqlite_lock: sqlite_lock,
        }
    }

    /// A node of the plane of the PostgreSQL database at `database_url`.
    pub fn shared(node: String, store: Store, configs: Configs, database_url: String) -> Plane {
        Plane {
            node,
            store,
            configs,
            shared: Some(Shared {
                database_url,
                ring: RwLock::new(Arc::new(Ring::default())),
                fence: Arc::new(Fence::default()),
                round_now: Notify::new(),
                resync: AtomicBool::new(false),
            }),
            _sqlite_lock: None,
        }
    }

    /// True on the one-node store.
    pub fn is_solo(&self) -> bool {
        self.shared.is_none()
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether this node pings and tracks the host (always, on the one-node store).
    pub fn owns(&self, host_uuid: &str) -> bool {
        match &self.shared {
            None => true,
            Some(s) => s.ring.read().expect("ring").owner(host_uuid) == Some(self.node.as_str()),
        }
    }

    /// The live nodes as this node last saw them (itself only, on the one-node store).
    pub fn live_nodes(&self) -> Vec<String> {
        match &self.shared {
            None => vec![self.node.clone()],
            Some(s) => s.ring.read().expect("ring").nodes().to_vec(),
        }
    }

    /// True while this node must not ping or reconnect hosts: its heartbeat is too old (it
    /// cannot reach the database), or it (re)joined less than a heartbeat interval ago.
    pub fn fenced(&self) -> bool {
        let Some(s) = &self.shared else { return false };
        s.fence.fenced()
    }

    fn heartbeat(&self) -> Duration {
        heartbeat(&self.configs)
    }

    /// How old a heartbeat may be before its node is dead (`managementServer.node.deadAfter`).
    pub fn dead_after(&self) -> Duration {
        dead_after(&self.configs)
    }

    /// Take the lease `name`, waiting while another holder (on any node) has it.
    pub async fn lease(&self, name: &str) -> Result<Lease> {
        if self.is_solo() {
            return Ok(Lease::none());
        }
        let l = Lease::acquire(&self.store, &self.node, name, self.dead_after(), true).await?;
        Ok(l.expect("a waiting acquire returns a lease"))
    }

    /// Take the lease `name` if nobody holds it.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>> {
        if self.is_solo() {
            return Ok(Some(Lease::none()));
        }
        Ok(Lease::acquire(&self.store, &self.node, name, self.dead_after(), false).await?)
    }

    /// The lease that serialises connects, deletes and state changes of one host.
    pub async fn host_lease(&self, host_uuid: &str) -> Result<Lease> {
        self.lease(&format!("host:{host_uuid}")).await
    }

    /// The host's lease if nobody holds it.
    pub async fn try_host_lease(&self, host_uuid: &str) -> Result<Option<Lease>> {
        self.try_lease(&format!("host:{host_uuid}")).await
    }

    /// The lease that serialises adds of one management IP.
    pub async fn ip_lease(&self, ip: &str) -> Result<Lease> {
        self.lease(&format!("ip:{ip}")).await
    }

    /// Tell the other nodes something ([`notify::Event`]); no-op on the one-node store.
    pub async fn publish(&self, event: notify::Event) {
        if !self.is_solo() {
            notify::publish(&self.store, &self.node, event).await;
        }
    }

    /// The tracker was asked to track a host another node owns: tell that node (in the
    /// background; the owner also finds it at its next reconciliation).
    pub fn hand_over(&self, host_uuid: &str) {
        if self.is_solo() {
            return;
        }
        let (store, node, uuid) = (self.store.clone(), self.node.clone(), host_uuid.to_string());
        tokio::spawn(
            async move { notify::publish(&store, &node, notify::Event::Track(uuid)).await },
        );
    }
}

/// What decides whether this node may ping: written by the heartbeat thread, read by the
/// tracker.
#[derive(Default)]
struct Fence {
    /// Until when this node may ping: its last written heartbeat plus
    /// `deadAfter − heartbeatInterval`. `None` before the first heartbeat.
    fence_at: Mutex<Option<Instant>>,
    /// A node that (re)joined pings only after this.
    hold_until: Mutex<Option<Instant>>,
    /// Since when this node's heartbeats have been written without a failure. It declares
    /// others dead only after the dead-node limit of its own good health: when the database
    /// was down for everyone, the others need a moment to write their heartbeats again.
    healthy_since: Mutex<Option<Instant>>,
    /// Set by the heartbeat thread when it had to join again; the membership loop announces it.
    rejoined: AtomicBool,
    /// The node leaves: the heartbeat thread ends, and says so in `stopped`.
    stop: AtomicBool,
    stopped: AtomicBool,
    /// Wakes the heartbeat thread from its sleep (to stop).
    wake: Notify,
}

impl Fence {
    fn fenced(&self) -> bool {
        let now = Instant::now();
        let fenced = self
            .fence_at
            .lock()
            .expect("fence")
            .is_none_or(|at| now >= at);
        fenced
            || self
                .hold_until
                .lock()
                .expect("hold")
                .is_some_and(|t| now < t)
    }

    /// A heartbeat sent at `sent` was written: ping until the others could declare this node
    /// dead, less a heartbeat interval.
    fn extend(&self, configs: &Configs, sent: Instant) {
        self.healthy_since
            .lock()
            .expect("healthy")
            .get_or_insert(sent);
        let until = sent + dead_after(configs).saturating_sub(heartbeat(configs));
        let mut f = self.fence_at.lock().expect("fence");
        if f.is_none_or(|at| at < until) {
            *f = Some(until);
        }
    }

    /// A heartbeat could not be written.
    fn failed(&self) {
        *self.healthy_since.lock().expect("healthy") = None;
    }

    /// Whether this node has been healthy long enough to declare others dead.
    fn may_judge(&self, configs: &Configs) -> bool {
        self.healthy_since
            .lock()
            .expect("healthy")
            .is_some_and(|t| t.elapsed() >= dead_after(configs))
    }

    /// (Re)joined at `at`: no pings for a heartbeat interval and the margin, until the others
    /// have seen this node and let its share go.
    fn hold(&self, configs: &Configs, at: Instant) {
        *self.hold_until.lock().expect("hold") = Some(at + heartbeat(configs) + MARGIN);
    }
}

fn heartbeat(configs: &Configs) -> Duration {
    configs
        .get(keys::MANAGEMENT_NODE_HEARTBEAT)
        .max(Duration::from_secs(1))
}

/// The dead-node limit: the config, but at least two heartbeat intervals plus the margin.
fn dead_after(configs: &Configs) -> Duration {
    configs
        .get(keys::MANAGEMENT_NODE_DEAD_AFTER)
        .max(heartbeat(configs) * 2 + MARGIN)
}

/// The SQLite database file a server opens, if it opens one.
pub fn sqlite_path(data_dir: &Path, database_url: Option<&str>) -> Option<PathBuf> {
    match database_url {
        None => Some(data_dir.join("hostplane.db")),
        Some(url) => {
            let rest = url
                .strip_prefix("sqlite://")
                .or(url.strip_prefix("sqlite:"))?;
            let path = rest.split('?').next().unwrap_or_default();
            (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
        }
    }
}

/// Lock the SQLite database for this process: SQLite is the one-node store, so a second
/// `hostplane serve` on the same file is refused with a clear error. The lock is an advisory
/// `flock` on `<database>.node-lock`, released by the kernel when the process ends (a crash
/// too), so a restart never finds a stale lock.
pub fn lock_sqlite(db: &Path) -> anyhow::Result<File> {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsRawFd;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let path = PathBuf::from(format!("{}.node-lock", db.display()));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    // SAFETY: flock only takes the descriptor of the file we hold open, and no pointers.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let holder = holder.trim();
        anyhow::bail!(
            "another hostplane server{} is already running on the SQLite database {}: SQLite is the \
             one-node store. To run several management nodes, put them all on one PostgreSQL \
             database (--database-url postgres://..., see docs/scale-out.md)",
            if holder.is_empty() { String::new() } else { format!(" (pid {holder})") },
            db.display()
        );
    }
    f.set_len(0)?;
    f.rewind()?;
    write!(f, "{}", std::process::id())?;
    f.flush()?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        let d = Path::new("/data");
        assert_eq!(
            sqlite_path(d, None),
            Some(PathBuf::from("/data/hostplane.db"))
        );
        assert_eq!(
            sqlite_path(d, Some("sqlite:///tmp/x.db?mode=rwc")),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path(d, Some("sqlite::memory:")), None);
        assert_eq!(sqlite_path(d, Some("postgres://u@h/db")), None);
    }

    #[test]
    fn a_second_lock_on_one_database_is_refused() {
        let dir = std::env::temp_dir().join(format!("hp-lock-{}", crate::ids::new_uuid()));
        let db = dir.join("hostplane.db");
        let first = lock_sqlite(&db).unwrap();
        let e = lock_sqlite(&db).unwrap_err().to_string();
        assert!(
            e.contains("one-node store") && e.contains(&std::process::id().to_string()),
            "{e}"
        );
        drop(first);
        lock_sqlite(&db).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
