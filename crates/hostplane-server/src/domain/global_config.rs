//! Global configuration: the keys hostplane knows, each declared once in [`keys`] with its
//! type, default, description, validation and whether anything reads it ([`Effect`]), and a
//! live in-memory copy that operations read through typed keys without touching the store:
//! `app.configs.get(keys::HOST_PING_INTERVAL)` is a `Duration`.
//!
//! An update is validated first (a bad value gets SYS.1007 and changes nothing), then written
//! to the store, then to the cache, and then every subscriber (the ping tracker, the job
//! sweeper) is told through a watch channel so that, for example, a new ping interval takes
//! effect at once. With several management nodes the others are notified too
//! (`domain::plane::notify`) and [`Configs::reload`] their caches from the store.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use super::api::operation;
use super::{App, Inventory, Output};
use crate::error::{Error, Result};
use crate::store::Store;

/// How a value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// An integer in [min, max].
    Long(i64, i64),
    /// `true` or `false`, any case.
    Bool,
    /// A size: digits with an optional K/M/G/T suffix (bytes).
    Size,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of hostnames or addresses.
    List,
    /// Any text that is an absolute path or starts with `~/`.
    Path,
    /// A list of networks, each allowed or (`!`) refused ([`crate::netrules`]); may be empty.
    Networks,
}

/// Whether hostplane acts on a key, or only keeps it so ZStack's clients can read and set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Something reads it and behaves accordingly.
    Live,
    /// Accepted for compatibility with ZStack; hostplane has nothing it would change.
    Compat,
}

/// One global config key: where it lives, its default, its rule and its meaning.
#[derive(Debug)]
pub struct Def {
    pub category: &'static str,
    pub name: &'static str,
    /// `category.name`
    pub key: &'static str,
    pub default: &'static str,
    pub description: &'static str,
    pub check: Check,
    pub effect: Effect,
}

/// A typed handle on a key: [`Configs::get`] returns a `T`.
pub struct Key<T>(pub &'static Def, PhantomData<fn() -> T>);

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}

impl<T> Key<T> {
    pub const fn def(self) -> &'static Def {
        self.0
    }
}

/// A value type a key can have, read from the stored text.
pub trait ConfigValue: Sized {
    fn parse(text: &str) -> Option<Self>;
}

impl ConfigValue for i64 {
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}
impl ConfigValue for bool {
    fn parse(text: &str) -> Option<Self> {
        super::validate::parse_bool(text.trim())
    }
}
/// Whole seconds.
impl ConfigValue for Duration {
    fn parse(text: &str) -> Option<Self> {
        let n: i64 = text.trim().parse().ok()?;
        Some(Duration::from_secs(n.max(0) as u64))
    }
}
impl ConfigValue for String {
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
}
/// A size in bytes (`1G`, `512M`, `1073741824`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub i64);
impl ConfigValue for Bytes {
    fn parse(text: &str) -> Option<Self> {
        parse_size(text).map(Bytes)
    }
}
impl ConfigValue for crate::netrules::NetRules {
    fn parse(text: &str) -> Option<Self> {
        crate::netrules::NetRules::parse(text).ok()
    }
}

const MAX: i64 = i64::MAX;

/// Declares every key: a typed constant in [`keys`] and its [`Def`] in [`DEFS`].
macro_rules! config_keys {
    ($( $(#[$doc:meta])* $id:ident: $ty:ty = ($cat:literal, $name:literal, $default:literal, $check:expr, $effect:ident, $desc:literal); )*) => {
        /// Every key hostplane knows, typed. ZStack's own keys keep ZStack's names and
        /// defaults; the ones hostplane adds say so.
        pub mod keys {
            use super::*;
            $(
                $(#[$doc])*
                pub const $id: Key<$ty> = Key(
                    &Def {
                        category: $cat,
                        name: $name,
                        key: concat!($cat, ".", $name),
                        default: $default,
                        description: $desc,
                        check: $check,
                        effect: Effect::$effect,
                    },
                    PhantomData,
                );
            )*
        }

        /// Every key, in the order they are listed.
        pub static DEFS: &[&Def] = &[$(keys::$id.0),*];

        /// Each default read as its key's type (for the tests).
        #[cfg(test)]
        fn defaults_read_as_their_type() -> Vec<(&'static str, bool)> {
            vec![$((keys::$id.0.key, <$ty as ConfigValue>::parse($default).is_some())),*]
        }
    };
}

config_keys! {
    HOST_PING_INTERVAL: Duration = ("host", "ping.interval", "60", Check::Long(1, 86400), Live, "seconds between two pings of a host; also the takeover-flag freshness window");
    HOST_PING_TIMEOUT: Duration = ("host", "ping.timeout", "10", Check::Long(1, 3600), Live, "seconds one ping try may take");
    HOST_PING_MAX_FAILURE: i64 = ("host", "ping.maxFailure", "3", Check::Long(1, 100), Live, "consecutive failed tries before a host is Disconnected");
    HOST_PING_SLEEP_AFTER_FAILURE: Duration = ("host", "ping.sleepPeriodAfterFailure", "1", Check::Long(0, 3600), Live, "seconds between ping tries");
    HOST_PING_PARALLELISM: i64 = ("host", "ping.parallelismDegree", "100", Check::Long(1, 100000), Live, "ping tries running at once (a try still waiting after 2 s, a silent host, makes room for the next when it can wait among at most 4 times this many slow tries)");
    HOST_PING_REUSE_SESSION: bool = ("host", "ping.reuseSession", "false", Check::Bool, Live, "hostplane: ping over one persistent SSH session per host, every round (false: log in only every ping.loginEvery rounds and probe sshd in between)");
    HOST_PING_LOGIN_EVERY: i64 = ("host", "ping.loginEvery", "5", Check::Long(1, 1000), Live, "hostplane: without reuseSession, every Nth ping logs in (host key checked, takeover flag refreshed); the others read sshd's identification line, no login (1: log in for every ping)");
    HOST_AUTO_RECONNECT: bool = ("host", "connection.autoReconnectOnError", "true", Check::Bool, Live, "reconnect a host automatically when it answers again after ping failures");
    HOST_AUTO_RECONNECT_MAX_ATTEMPTS: i64 = ("host", "connection.autoReconnectOnError.maxAttemptsNum", "0", Check::Long(0, MAX), Live, "stop tracking a host after this many failed automatic reconnects (0: never)");
    HOST_LOAD_ALL: bool = ("host", "load.all", "true", Check::Bool, Live, "track every host when the server starts");
    HOST_RECONNECT_ALL_ON_BOOT: bool = ("host", "reconnectAllOnBoot", "true", Check::Bool, Live, "reconnect Connecting and Disconnected hosts when the server starts");
    HOST_LOAD_PARALLELISM: i64 = ("host", "load.parallelismDegree", "100", Check::Long(1, 100000), Live, "reconnects running at once when the server starts");
    HOST_CPU_OVER_PROVISIONING: i64 = ("host", "cpu.overProvisioning.ratio", "10", Check::Long(1, 1000), Live, "totalCpuCapacity = cpuNum x ratio");
    HOST_REPORT_CAPACITY_INTERVAL: i64 = ("host", "reportHostCapacityInterval", "30", Check::Long(1, MAX), Compat, "minutes between capacity refreshes");
    HOST_MAINTENANCE_IGNORE_ERROR: bool = ("host", "maintenanceMode.ignoreError", "false", Check::Bool, Compat, "ignore VM stop errors when entering maintenance");
    HOST_MAINTENANCE_POLICY: String = ("host", "host.maintenance.policy", "StopVmOnMigrationFailure", Check::OneOf(&["StopVmOnMigrationFailure", "JustMigrate"]), Compat, "what maintenance does when a VM cannot migrate");
    HOST_ADD_BATCH_LIMIT: i64 = ("host", "add.batchLimit", "500", Check::Long(1, 100000), Compat, "hosts one batch add may name");
    HOST_ADD_PARALLELISM: i64 = ("host", "add.parallelismDegree", "30", Check::Long(1, 100000), Live, "hostplane: AddKVMHost calls connecting at once (ZStack fixes 30)");
    HOST_ADD_FAIL_FAST: bool = ("host", "add.failFast", "true", Check::Bool, Live, "hostplane: a new host whose SSH port refuses, has no route or whose name does not resolve fails the add at once (false: wait kvm.testSshPortOpenTimeout, as ZStack does)");
    HOST_EVENT_RETENTION: Duration = ("host", "event.retentionPeriod", "2592000", Check::Long(1, MAX), Live, "hostplane: seconds a host event (QueryHostEvent) is kept");
    HOST_EVENT_MAX_COUNT: i64 = ("host", "event.maxCount", "1000000", Check::Long(1, MAX), Live, "hostplane: at most this many host events are kept, the newest");
    KVM_RESERVED_MEMORY: Bytes = ("kvm", "reservedMemory", "1G", Check::Size, Live, "memory a host must have above this to be added");
    KVM_RESERVED_CPU: i64 = ("kvm", "reservedCpu", "512", Check::Long(0, MAX), Compat, "CPU reserve (allocation only)");
    KVM_MIGRATION_QUANTITY: i64 = ("kvm", "vm.migrationQuantity", "2", Check::Long(1, 1000), Compat, "parallel migrations during maintenance");
    KVM_HOST_SYNC_LEVEL: i64 = ("kvm", "host.syncLevel", "10", Check::Long(1, 1000), Compat, "per-host operation concurrency");
    KVM_SSH_PORT_OPEN_TIMEOUT: Duration = ("kvm", "testSshPortOpenTimeout", "300", Check::Long(1, 86400), Live, "seconds to wait for a host's SSH port during connect");
    KVM_SSH_PORT_CONNECT_TIMEOUT: Duration = ("kvm", "testSshPortOnConnectTimeout", "2", Check::Long(1, 3600), Live, "seconds one TCP try to the SSH port may take");
    KVM_CHECK_CPU_MODEL: bool = ("kvm", "checkHostCpuModelName", "false", Check::Bool, Compat, "require the same CPU model across a cluster");
    KVM_DNS_CHECK_LIST: String = ("kvm", "host.DNSCheckList", "yahoo.com,google.com,baidu.com", Check::List, Compat, "names a new host must resolve (not checked by hostplane: hosts need no internet)");
    KVM_VM_SYNC_ON_PING: bool = ("kvm", "vmSyncOnHostPing", "true", Check::Bool, Compat, "sync VM states on ping (hostplane manages no VMs yet)");
    KVM_SSH_COMMAND_TIMEOUT: Duration = ("kvm", "ssh.commandTimeout", "60", Check::Long(1, 3600), Live, "hostplane: seconds one SSH command (facts, flag) may take");
    KVM_SSH_AUTH_TIMEOUT: Duration = ("kvm", "ssh.authTimeout", "30", Check::Long(1, 3600), Live, "hostplane: seconds the SSH handshake and login may take");
    KVM_TAKEOVER_FLAG_PATH: String = ("kvm", "takeOverFlagPath", "/var/run/zstack/takeOver", Check::Path, Live, "hostplane: where the takeover flag lives on a host (ZStack's path by default, so hosts of a ZStack are recognised)");
    IDENTITY_SESSION_TIMEOUT: Duration = ("identity", "session.timeout", "7200", Check::Long(1, MAX), Live, "seconds a session lives");
    IDENTITY_SESSION_MAX_CONCURRENT: i64 = ("identity", "session.maxConcurrent", "500", Check::Long(1, MAX), Live, "sessions an account may hold at once; one more login fails with ID.1006");
    IDENTITY_LOGIN_MAX_FAILURES: i64 = ("identity", "login.maxFailures", "5", Check::Long(1, MAX), Live, "hostplane: wrong passwords for one account from one address, within login.failureWindow, before that address is locked out of that account");
    IDENTITY_LOGIN_FAILURE_WINDOW: Duration = ("identity", "login.failureWindow", "300", Check::Long(1, 86400), Live, "hostplane: seconds over which wrong passwords are counted");
    IDENTITY_LOGIN_LOCK_SECONDS: Duration = ("identity", "login.lockSeconds", "300", Check::Long(1, 86400), Live, "hostplane: seconds an address stays locked out of an account (answered ID.1000 without checking the password)");
    REST_COMPLETED_API_EXPIRED_PERIOD: Duration = ("rest", "completedApi.expiredPeriod", "10800", Check::Long(1, MAX), Live, "seconds the result of a finished job is kept");
    REST_EXPIRED_API_SCAN_INTERVAL: Duration = ("rest", "expiredApi.scanInterval", "3600", Check::Long(1, MAX), Live, "seconds between sweeps of expired job results");
    REST_MAX_BODY_SIZE: Bytes = ("rest", "request.maxBodySize", "1M", Check::Size, Live, "hostplane: the largest request body; a larger one is answered 413 without being read");
    REST_READ_TIMEOUT: Duration = ("rest", "request.readTimeout", "30", Check::Long(1, 3600), Live, "hostplane: seconds a client may take to send a request's headers, and again its body (and to start its next request on a kept-alive connection); a slower one is cut off");
    REST_MAX_CONNECTIONS: i64 = ("rest", "maxConnections", "1024", Check::Long(1, 1000000), Live, "hostplane: open client connections at most; more wait in the listen queue until one closes");
    REST_WEBHOOK_ALLOWED_NETWORKS: crate::netrules::NetRules = ("rest", "webhook.allowedNetworks", "", Check::Networks, Live, "hostplane: where X-Web-Hook and host event subscriptions may point: comma-separated CIDRs, each allowed or (with a leading !) refused, first match wins; otherwise loopback, link-local, unspecified and multicast addresses are refused and all others allowed");
    MANAGEMENT_NODE_HEARTBEAT: Duration = ("managementServer", "node.heartbeatInterval", "2", Check::Long(1, 60), Live, "seconds between two heartbeats of a management node; each node also checks the others' this often (ZStack's default is 5)");
    MANAGEMENT_NODE_DEAD_AFTER: Duration = ("managementServer", "node.deadAfter", "6", Check::Long(3, 600), Live, "hostplane: seconds without a heartbeat (database time) after which the other management nodes declare a node dead, fail its jobs and take over its hosts (at least twice the heartbeat interval plus 1); a node that cannot write its heartbeat stops pinging one heartbeat interval before that");
}

/// What the config listing (QueryGlobalConfig, UpdateGlobalConfig's inventory) appends to
/// the description of a key nothing reads. ZStack's inventory fields stay as they are.
pub const COMPAT_NOTE: &str = " (accepted for compatibility, no effect)";

impl Def {
    /// The description as listed: a [`Effect::Compat`] key says it has no effect.
    pub fn listed_description(&self) -> String {
        match self.effect {
            Effect::Live => self.description.to_string(),
            Effect::Compat => format!("{}{COMPAT_NOTE}", self.description),
        }
    }
}

fn find(category: &str, name: &str) -> Option<&'static Def> {
    DEFS.iter()
        .copied()
        .find(|d| d.category == category && d.name == name)
}

/// Check a value against its key's rule; the error text says what is accepted.
pub fn check_value(d: &Def, value: &str) -> std::result::Result<String, String> {
    let v = value.trim();
    match d.check {
        Check::Long(lo, hi) => match v.parse::<i64>() {
            Ok(n) if n >= lo && n <= hi => Ok(n.to_string()),
            Ok(n) => Err(format!("{n} is out of range [{lo}, {hi}]")),
            Err(_) => Err(format!(
                "{value} is not a whole number; expected {}",
                whole_number(lo, hi)
            )),
        },
        Check::Bool => super::validate::parse_bool(v)
            .map(|b| b.to_string())
            .ok_or_else(|| format!("{value} is not a boolean; use true or false")),
        Check::Size => parse_size(v)
            .map(|_| v.to_string())
            .ok_or_else(|| format!("{value} is not a size such as 1G, 512M or 1073741824")),
        Check::OneOf(vals) => {
            if vals.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not one of {vals:?}"))
            }
        }
        Check::List => {
            if v.split(',').all(|s| !s.trim().is_empty()) {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not a comma-separated list"))
            }
        }
        Check::Networks => crate::netrules::NetRules::parse(v).map(|_| v.to_string()),
        Check::Path => {
            if (v.starts_with('/') || v.starts_with("~/"))
                && !v.contains(['\'', '"', '`', '$', '\n', ';', '&', '|'])
            {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not an absolute path (or one starting with ~/) without shell metacharacters"))
            }
        }
    }
}

/// What a `Check::Long` accepts, in plain words.
fn whole_number(lo: i64, hi: i64) -> String {
    if hi == MAX {
        format!("a whole number of at least {lo}")
    } else {
        format!("a whole number from {lo} to {hi}")
    }
}

/// `1G` → 1073741824. Suffixes K, M, G, T (powers of 1024), optional trailing `B`.
pub fn parse_size(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches(['B', 'b']);
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1i64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)?
        .checked_mul(mult)
}

/// The live configuration: every key's current text, read through typed [`Key`]s.
#[derive(Clone)]
pub struct Configs {
    values: Arc<RwLock<HashMap<&'static str, String>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Configs {
    /// Make sure every key is in the store, then load all values.
    pub async fn load(store: &Store) -> anyhow::Result<Configs> {
        for d in DEFS {
            store
                .global_config_ensure(d.category, d.name, &d.listed_description(), d.default)
                .await?;
        }
        let mut values = HashMap::new();
        for r in store.global_configs_all().await? {
            if let Some(d) = find(&r.category, &r.name) {
                values.insert(d.key, r.value);
            }
        }
        Ok(Configs {
            values: Arc::new(RwLock::new(values)),
            changed: Arc::new(watch::channel(0).0),
        })
    }

    /// The value of a key, as its type. A stored value that does not read as the type (only
    /// possible if the database was edited by hand) reads as the default.
    pub fn get<T: ConfigValue>(&self, key: Key<T>) -> T {
        let d = key.def();
        let parsed = self
            .values
            .read()
            .expect("config lock")
            .get(d.key)
            .and_then(|v| T::parse(v));
        parsed.unwrap_or_else(|| {
            T::parse(d.default).expect("every default reads as its key's type (tested)")
        })
    }

    /// The current text of a key.
    pub fn text(&self, d: &Def) -> String {
        self.values
            .read()
            .expect("config lock")
            .get(d.key)
            .cloned()
            .unwrap_or_else(|| d.default.to_string())
    }

    /// Read every value from the store again and apply the ones that changed (another
    /// management node changed them). Subscribers are told once if anything changed.
    pub async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        let rows = store.global_configs_all().await?;
        let mut changed = false;
        {
            let mut values = self.values.write().expect("config lock");
            for r in rows {
                if let Some(d) = find(&r.category, &r.name) {
                    if values.get(d.key) != Some(&r.value) {
                        values.insert(d.key, r.value);
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// A receiver that sees a new number after every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
    fn set(&self, d: &'static Def, value: String) {
        self.values
            .write()
            .expect("config lock")
            .insert(d.key, value);
        self.changed.send_modify(|n| *n += 1);
    }
}

/// APIUpdateGlobalConfigMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateGlobalConfig {
    pub category: String,
    pub name: String,
    pub value: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(UpdateGlobalConfig => update_global_config);

/// ZStack: APIUpdateGlobalConfigMsg, PUT /v1/global-configurations/{category}/{name}/actions
pub async fn update_global_config(app: &Arc<App>, p: UpdateGlobalConfig) -> Result<Output> {
    let (category, name) = (p.category.as_str(), p.name.as_str());
    let d = find(category, name).ok_or_else(|| {
        Error::invalid_argument(format!(
            "Unable to find GlobalConfig[category: {category}, name: {name}]"
        ))
    })?;
    let value = p.value.as_deref().unwrap_or_default();
    let value = check_value(d, value).map_err(|why| {
        Error::invalid_argument(format!(
            "invalid value for GlobalConfig[category: {category}, name: {name}]: {why}"
        ))
    })?;
    app.store.global_config_set(category, name, &value).await?;
    app.configs.set(d, value.clone());
    app.plane.publish(super::plane::notify::Event::Config).await;
    if d.key == keys::HOST_CPU_OVER_PROVISIONING.def().key {
        // Capacity follows the ratio (ZStack recalculates on a change too).
        app.store
            .hosts_apply_cpu_ratio(
                app.configs.get(keys::HOST_CPU_OVER_PROVISIONING),
                crate::time::now_ms(),
            )
            .await?;
    }
    let row = app
        .store
        .global_configs_all()
        .await?
        .into_iter()
        .find(|r| r.category == category && r.name == name)
        .ok_or_else(|| Error::internal("global config vanished"))?;
    let mut json = serde_json::Map::new();
    json.insert("id".into(), row.id.into());
    json.insert("name".into(), row.name.into());
    json.insert("category".into(), row.category.into());
    json.insert("description".into(), row.description.into());
    json.insert("defaultValue".into(), row.default_value.into());
    json.insert("value".into(), row.value.into());
    Ok(Output::Inventory(Inventory {
        class: super::catalogue::GLOBAL_CONFIG_CLASS.into(),
        json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let interval = find("host", "ping.interval").unwrap();
        assert_eq!(check_value(interval, " 5 ").unwrap(), "5");
        assert!(check_value(interval, "0").is_err());
        assert!(check_value(interval, "abc").is_err());
        let b = find("host", "connection.autoReconnectOnError").unwrap();
        assert_eq!(check_value(b, "FALSE").unwrap(), "false");
        assert!(check_value(b, "yes").is_err());
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1073741824"), Some(1 << 30));
        assert_eq!(parse_size("G"), None);
        let p = find("kvm", "takeOverFlagPath").unwrap();
        assert!(check_value(p, "~/.hostplane/takeOver").is_ok());
        assert!(check_value(p, "/tmp/x; rm -rf /").is_err());
        let n = find("rest", "webhook.allowedNetworks").unwrap();
        assert_eq!(check_value(n, "").unwrap(), "");
        assert!(check_value(n, "127.0.0.0/8,!10.0.0.0/8").is_ok());
        assert!(check_value(n, "localhost").is_err());
    }

    /// Every default passes its own rule and reads as its key's type, and every key is
    /// listed once.
    #[test]
    fn defaults_are_valid_and_typed() {
        for d in DEFS {
            assert!(check_value(d, d.default).is_ok(), "{}", d.key);
            assert_eq!(d.key, format!("{}.{}", d.category, d.name));
        }
        for (key, ok) in defaults_read_as_their_type() {
            assert!(ok, "{key}: the default does not read as the key's type");
        }
        let mut keys: Vec<_> = DEFS.iter().map(|d| d.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), DEFS.len());
    }

    /// docs/api.md lists every key, and says of each key nothing reads that it has no effect
    /// (and of no other key).
    #[test]
    fn the_docs_say_which_keys_have_no_effect() {
        let doc = include_str!("../../../../docs/api.md");
        for d in DEFS {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", d.key)))
                .unwrap_or_else(|| panic!("docs/api.md lists no {}", d.key));
            assert_eq!(
                row.contains("accepted for compatibility, no effect"),
                d.effect == Effect::Compat,
                "docs/api.md on {}: {row}",
                d.key
            );
            assert_eq!(
                d.listed_description().ends_with(COMPAT_NOTE),
                d.effect == Effect::Compat
            );
        }
        let compat = DEFS.iter().filter(|d| d.effect == Effect::Compat).count();
        assert_eq!(compat, 10, "the keys nothing reads (issue 12 found eleven; identity.session.maxConcurrent is enforced since)");
    }
}
